"""dynamap's implementation. Import from `dynamap`: nothing here is public API.

The layers, from the bottom up (CONTRIBUTING.md; an import-linter contract keeps them):
errors and declare, codec, expr, model, core (sans-I/O), transport, drivers, session.
"""

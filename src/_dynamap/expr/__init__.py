"""Expressions and attribute names: reserved words, `#placeholders`, projections, paths."""

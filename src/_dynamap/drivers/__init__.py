"""Drivers: run the core's requests through a transport (thread pool), and the GC pause."""

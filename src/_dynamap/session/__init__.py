"""Session facades over one unit-of-work state."""

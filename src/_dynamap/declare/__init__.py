"""Declarations users write on models (key markers, indexes) and annotation inspection."""

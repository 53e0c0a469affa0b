"""Model classes and what is derived from them: keys, indexes, table schema, projection."""

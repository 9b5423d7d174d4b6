"""Reusable constructs, one module per concern (tables, layers, functions, API)."""

"""conversations models."""

"""leave models."""

"""schoolcal models."""

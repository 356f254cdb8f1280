"""grades models."""

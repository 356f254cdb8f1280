"""Shared test support: the fixture world, service guards, browser helpers."""

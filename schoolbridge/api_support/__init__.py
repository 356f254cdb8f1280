"""Shared pieces of the JSON API: authentication, the error shape, pagination."""

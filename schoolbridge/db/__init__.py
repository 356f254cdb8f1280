"""Database backends of SchoolBridge."""

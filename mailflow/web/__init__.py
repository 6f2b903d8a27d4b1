"""The web side: viewer, sharing, settings, activation and the staff console (ASGI)."""

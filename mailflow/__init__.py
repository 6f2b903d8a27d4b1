"""mailflow: publish documents, tell the right people by email, act on their replies."""

__version__ = "0.1.0"

"""Scheduled jobs: digests at each chosen frequency, retention and expiry."""

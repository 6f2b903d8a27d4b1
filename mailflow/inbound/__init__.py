"""Inbound mail: receiving, parsing, trimming, classifying and reading commands from replies."""

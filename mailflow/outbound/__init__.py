"""Outbound mail: rendering, composing, the outbox, transports and the delivery worker."""

"""The channels: each module takes a rendered message to one place, or raises DeliveryFailed."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A channel did not take the message. The text is stored and shown: never put secrets in it."""

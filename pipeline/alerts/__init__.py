"""Alerts: rules over watched terms, matching, notifiers and delivery with retries.

docs/alerts.md describes the rules file, the channels and the delivery guarantees.
"""

"""Observability: structured stage logs, stage timings kept in the store, Prometheus metrics."""

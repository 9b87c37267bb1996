"""Observability: Prometheus metrics and a health endpoint for operators."""

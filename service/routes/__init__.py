"""Thin controllers: parse the request, call the broker or the ingestor, shape the response."""

"""Spotcheck HTTP API, persistence and CLI."""

__version__ = "0.1.0"

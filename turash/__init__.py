"""Turash: an open platform for industrial symbiosis."""

__version__ = "0.1.0"

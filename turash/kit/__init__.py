"""Shared infrastructure with no domain logic: database, errors, cache, event bus, units, geo, logging."""

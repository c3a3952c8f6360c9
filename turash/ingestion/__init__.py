"""Ingestion: files in, validated and normalised records out, nothing lost (bad records are quarantined)."""

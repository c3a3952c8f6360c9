"""Bulk export (issue 10, part 5): streamed NDJSON and CSV of what the caller may read. A domain of its own, not
part of analytics: it serves machines copying the register, scoped entity by entity like the list routes, while
analytics aggregates."""

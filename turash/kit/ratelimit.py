"""Fixed-window rate limiting on top of the cache (in-process or Redis, so limits hold across API replicas)."""

from __future__ import annotations

import hashlib

from turash.kit.cache import Cache
from turash.kit.errors import RateLimited


def hit(cache: Cache, scope: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one attempt for (scope, key); raise RateLimited past `limit` attempts in the window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # keep user names and IPs out of cache keys
    count = cache.incr(f"rl:{scope}:{digest}", window_seconds)
    if count > limit:
        raise RateLimited(f"too many attempts; try again in {window_seconds} s", retry_after=window_seconds)

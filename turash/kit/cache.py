"""Cache interface with an in-process backend (embedded default, tests) and a Redis backend (production).

Both store bytes/str values with a TTL and support atomic counters (rate limits) and deletion (session revocation).
Both pass the same test suite (tests/kit/test_cache.py).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis


class Cache(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...
    def delete(self, key: str) -> bool: ...
    def pop(self, key: str) -> str | None: ...
    def incr(self, key: str, ttl_seconds: int) -> int: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def ping(self) -> bool: ...


class MemoryCache:
    """Thread-safe dict with expiry. Expired keys are dropped lazily and by a sweep every 1,000 writes."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _alive(self, key: str, now: float) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._data[key]
            return None
        return item[1]

    def _sweep(self, now: float) -> None:
        self._writes += 1
        if self._writes % 1000 == 0:
            for key in [k for k, (exp, _) in self._data.items() if exp <= now]:
                del self._data[key]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._alive(key, time.monotonic())

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._data[key] = (now + ttl_seconds, value)
            self._sweep(now)

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None

    def pop(self, key: str) -> str | None:
        with self._lock:
            value = self._alive(key, time.monotonic())
            self._data.pop(key, None)
            return value

    def incr(self, key: str, ttl_seconds: int) -> int:
        """Fixed-window counter: the TTL starts at the first increment."""
        now = time.monotonic()
        with self._lock:
            current = self._alive(key, now)
            if current is None:
                self._data[key] = (now + ttl_seconds, "1")
                self._sweep(now)
                return 1
            expires = self._data[key][0]
            value = int(current) + 1
            self._data[key] = (expires, str(value))
            return value

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
            for key in keys:
                del self._data[key]
            return len(keys)

    def ping(self) -> bool:
        return True


class RedisCache:
    """Redis backend; keys are namespaced so several deployments can share one Redis."""

    def __init__(self, url: str, namespace: str = "turash:") -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._ns = namespace

    def get(self, key: str) -> str | None:
        value = self._redis.get(self._ns + key)
        return None if value is None else str(value)

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._redis.set(self._ns + key, value, ex=ttl_seconds)

    def delete(self, key: str) -> bool:
        return bool(self._redis.delete(self._ns + key))

    def pop(self, key: str) -> str | None:
        value = self._redis.getdel(self._ns + key)
        return None if value is None else str(value)

    def incr(self, key: str, ttl_seconds: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._ns + key)
        pipe.expire(self._ns + key, ttl_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for key in self._redis.scan_iter(match=self._ns + prefix + "*", count=500):
            removed += int(self._redis.delete(key))
        return removed

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()

"""Both cache back-ends pass the same suite: in-process, and Redis when reachable (mandatory in CI)."""

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from turash.kit.cache import Cache, MemoryCache, RedisCache


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    require_service("Redis", "127.0.0.1", 6379)
    ns = f"turash-test-{uuid.uuid4().hex}:"
    c = RedisCache("redis://127.0.0.1:6379/0", namespace=ns)
    yield c
    c.delete_prefix("")


def test_set_get_delete(cache: Cache) -> None:
    assert cache.get("a") is None
    cache.set("a", "1", 60)
    assert cache.get("a") == "1"
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    assert cache.get("a") is None


def test_pop_is_read_once(cache: Cache) -> None:
    cache.set("k", "v", 60)
    assert cache.pop("k") == "v"
    assert cache.pop("k") is None


def test_ttl_expires(cache: Cache) -> None:
    cache.set("short", "x", 1)
    assert cache.get("short") == "x"
    time.sleep(1.2)
    assert cache.get("short") is None


def test_incr_counts_within_a_window(cache: Cache) -> None:
    assert [cache.incr("n", 60) for _ in range(3)] == [1, 2, 3]
    cache.incr("w", 1)
    time.sleep(1.2)
    assert cache.incr("w", 1) == 1  # the window restarted


def test_delete_prefix(cache: Cache) -> None:
    cache.set("sess:u1:a", "1", 60)
    cache.set("sess:u1:b", "1", 60)
    cache.set("sess:u2:a", "1", 60)
    assert cache.delete_prefix("sess:u1:") == 2
    assert cache.get("sess:u2:a") == "1"
    assert cache.ping()

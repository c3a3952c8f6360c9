"""Live updates: the WebSocket connections of this process, by user. Event handlers (any thread) push; each
connection's own event loop sends. With several API replicas each replica's handlers push to their own sockets
(on NATS every replica receives every event)."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = defaultdict(
            list
        )

    def connect(self, user_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._queues[user_id].append((asyncio.get_running_loop(), queue))
        return queue

    def disconnect(self, user_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._queues[user_id] = [(lp, q) for lp, q in self._queues.get(user_id, []) if q is not queue]
            if not self._queues[user_id]:
                del self._queues[user_id]

    def push(self, user_id: str, message: dict[str, Any]) -> int:
        """Queue a message for every connection of the user; returns how many connections it went to."""
        with self._lock:
            targets = list(self._queues.get(user_id, []))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, message)
        return len(targets)

    def connected(self, user_id: str) -> int:
        with self._lock:
            return len(self._queues.get(user_id, []))


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if not queue.full():  # a stalled client loses live updates, never the stored notifications
        queue.put_nowait(message)


def hub_of(extras: dict[str, Any]) -> Hub:
    hub = extras.get("ws_hub")
    if hub is None:
        hub = extras["ws_hub"] = Hub()
    return hub

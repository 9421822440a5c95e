"""A worker's session slots: at most N SMTP sessions at once, idle ones kept briefly.

A session whose site runs out of messages may *linger*: keep its connection open a
moment for the next lease's messages to that site (leases come in batches spread over
many sites, so without it a connection — TCP, STARTTLS, EHLO — was opened for every few
messages). A lingering session still holds its slot, so it gives way at once when
another session waits for one, and when the worker stops.
"""

from __future__ import annotations

import asyncio

from sendwell.delivery.ready import ReadyQueue


class SessionSlots:
    """Counts a worker's open sessions against ``limit`` and wakes lingering ones."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open = 0
        self._changed = asyncio.Condition()
        self._waiting = 0
        self._lingering: set[asyncio.Future[bool]] = set()
        self._closing = False

    async def acquire(self) -> None:
        """Wait for a free slot, asking a lingering session to give its up."""
        async with self._changed:
            if self._open >= self.limit:
                self._waiting += 1
                self._evict()
                try:
                    await self._changed.wait_for(lambda: self._open < self.limit)
                finally:
                    self._waiting -= 1
            self._open += 1

    async def release(self) -> None:
        async with self._changed:
            self._open = max(0, self._open - 1)
            self._changed.notify_all()

    async def linger(self, ready: ReadyQueue, seconds: float) -> bool:
        """Wait up to ``seconds`` for items in ``ready``; False: close the connection.

        Gives up at once when the worker is closing or a session waits for a slot.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not ready.items:
            if self._closing or self._waiting or loop.time() >= deadline:
                return False
            waiter: asyncio.Future[bool] = loop.create_future()
            ready.lingering.add(waiter)  # ready.wake() sets True when items arrive
            self._lingering.add(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    if not await waiter:
                        return False
            except TimeoutError:
                return False
            finally:
                ready.lingering.discard(waiter)
                self._lingering.discard(waiter)
        return True

    def close(self) -> None:
        """The worker is stopping: every lingering session closes now, none lingers again."""
        self._closing = True
        self._evict(every=True)

    def _evict(self, *, every: bool = False) -> None:
        for waiter in list(self._lingering):
            if not waiter.done():
                waiter.set_result(False)
                if not every:
                    return

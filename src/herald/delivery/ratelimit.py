"""One token bucket per provider quota; every recipient (CC included) costs a token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from herald.clock import Clock


@dataclass
class Bucket:
    """`capacity` tokens refilled evenly over `period` seconds."""

    capacity: float
    period: float
    tokens: float = field(init=False)
    at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        if self.at is not None:
            self.tokens = min(self.capacity,
                              self.tokens + (now - self.at) * self.capacity / self.period)
        self.at = now

    def wait_for(self, n: float) -> float:
        """Seconds until `n` tokens are there."""
        missing = n - self.tokens
        return 0.0 if missing <= 0 else missing * self.period / self.capacity


class RateLimit:
    """All buckets at once (e.g. per minute and per day), shared by the sending threads."""

    def __init__(self, buckets: list[Bucket], clock: Clock,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.buckets = buckets
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()

    def acquire(self, n: int) -> None:
        """Block until every bucket can pay `n` tokens, then pay."""
        if not self.buckets:
            return
        too_big = [b for b in self.buckets if n > b.capacity]
        if too_big:
            raise ValueError(f"a message to {n} recipients exceeds a quota of "
                             f"{too_big[0].capacity:g}")
        while True:
            with self.lock:
                now = self.clock.now().timestamp()
                for b in self.buckets:
                    b.refill(now)
                wait = max(b.wait_for(n) for b in self.buckets)
                if wait <= 0:
                    for b in self.buckets:
                        b.tokens -= n
                    return
            self.sleep(wait)


def from_quotas(per_minute: int | None, per_day: int | None, clock: Clock,
                sleep: Callable[[float], None] = time.sleep) -> RateLimit:
    """A limiter for the provider's quotas (None = no limit)."""
    buckets = []
    if per_minute:
        buckets.append(Bucket(per_minute, 60.0))
    if per_day:
        buckets.append(Bucket(per_day, 86400.0))
    return RateLimit(buckets, clock, sleep)

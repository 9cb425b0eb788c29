"""Per-client token buckets (pure: the clock is passed in).

Each client may make ``burst`` requests at once and then ``rate`` per second
on average. The table of clients is bounded (``max_clients``, least recently
seen dropped first), so a flood of addresses cannot grow memory; a dropped
client starts again with a full bucket (decision 0120).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Requires ``rate`` > 0 and ``burst`` >= 1."""

    def __init__(self, rate: float, burst: int, *, max_clients: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1; got {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, client: str, now: float) -> float:
        """Take one token for ``client`` at time ``now`` (seconds, monotonic).

        Returns 0 when the request may proceed, else the seconds until a token
        is free again (the request is refused and takes nothing).
        """
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[client] = bucket
            if len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """``wait`` seconds as a Retry-After value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))

"""uvicorn's HTTP/1.1 protocol with a bound on slow and idle clients (decision 0123).

uvicorn (h11) closes a connection idle *between* requests after
``timeout_keep_alive``, but a connection that never sends a byte, or sends its
request line and headers a byte at a time, is held for ever, and so is one
that trickles its body. This protocol gives each request ``header_seconds``
from its first byte (from the connection's opening, for the first request) to
the end of its headers, then ``body_seconds`` to the end of its body; past
either it answers 408 when it still can and closes the connection. Responses,
event streams included, are not limited.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_PROBLEM = (
    b'{"type":"urn:guestbook-ledger:problem:request-timeout","title":"Request too slow",'
    b'"status":408,"detail":"The request did not arrive in time; send it again, faster."}'
)
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_PROBLEM)).encode() + b"\r\n\r\n" + _PROBLEM
)


def bounded_h11(header_seconds: float, body_seconds: float) -> type[H11Protocol]:
    """An H11Protocol class (for ``uvicorn.Config(http=...)``) with these bounds."""

    class BoundedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: str = ""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm("headers", header_seconds)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._arm("headers", header_seconds)  # the next request's first bytes
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._follow()

        def _follow(self) -> None:
            """Move the deadline along with the request: headers, body, done."""
            state = self.conn.their_state
            if state is h11.SEND_BODY and self._waiting_for != "body":
                self._arm("body", body_seconds)
            elif state is not h11.IDLE and state is not h11.SEND_BODY:
                self._disarm()  # the whole request is in (or the connection is closing)

        def _arm(self, what: str, seconds: float) -> None:
            self._disarm()
            self._waiting_for = what
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = None
            self._waiting_for = ""

        def _expired(self) -> None:
            what, self._deadline, self._waiting_for = self._waiting_for, None, ""
            if self.transport.is_closing():
                return
            # Say why before closing, unless a response has begun already (then a
            # 408 would corrupt it). Closing tells a waiting app http.disconnect.
            cycle = self.cycle
            if what == "headers" or cycle is None or not cycle.response_started:
                self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    return BoundedH11Protocol

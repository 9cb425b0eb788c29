"""What kube-apiserver's audit log says was called, by whom, in one namespace.

The local control plane logs every request's metadata (decision 0090), one JSON
object a line; a test reads the lines written since it began. The
ResponseComplete line may be written just after the client has its answer, so
:meth:`AuditTrail.calls` waits (bounded) for the calls a test expects.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AuditedCall:
    """One request as the API server audited it."""

    username: str
    verb: str
    resource: str  # plural, or plural/subresource
    namespace: str
    name: str
    code: int


class AuditTrail:
    """The calls in ``namespace`` logged to ``path`` after this object was made."""

    def __init__(self, path: Path, namespace: str) -> None:
        self.path = path
        self.namespace = namespace
        self._offset = path.stat().st_size if path.exists() else 0

    def all_calls(self) -> list[AuditedCall]:
        """Every completed request in the namespace so far, in log order."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            if log.seek(0, 2) < self._offset:
                self._offset = 0  # rotated (at 200 MB): the new file is all after us
            log.seek(self._offset)
            data = log.read()
        lines = data.split(b"\n")[:-1]  # the last piece may be half written
        calls = []
        for line in lines:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if event.get("stage") != "ResponseComplete" or ref.get("namespace") != self.namespace:
                continue
            resource = str(ref.get("resource", ""))
            if ref.get("subresource"):
                resource += "/" + str(ref["subresource"])
            calls.append(
                AuditedCall(
                    username=str(event["user"]["username"]),
                    verb=str(event["verb"]),
                    resource=resource,
                    namespace=self.namespace,
                    name=str(ref.get("name", "")),
                    code=int((event.get("responseStatus") or {}).get("code", 0)),
                )
            )
        return calls

    def calls(
        self, verb: str, resource: str, *, at_least: int = 1, timeout: float = 30.0
    ) -> list[AuditedCall]:
        """The calls of ``verb`` on ``resource``, once at least ``at_least`` are logged.

        Raises AssertionError, listing what was logged, after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.all_calls() if (c.verb, c.resource) == (verb, resource)]
            if len(found) >= at_least:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected at least {at_least} {verb} {resource} in the audit log of "
                    f"{self.namespace}, found {len(found)}; logged: {self.all_calls()}"
                )
            time.sleep(0.1)

    def users(self, verb: str, resource: str, *, at_least: int = 1) -> set[str]:
        """Who made the calls of ``verb`` on ``resource`` (waiting for ``at_least``)."""
        return {c.username for c in self.calls(verb, resource, at_least=at_least)}

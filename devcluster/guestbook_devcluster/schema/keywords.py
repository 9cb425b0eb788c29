"""Which keywords a schema subtree uses, so that walks can skip subtrees with nothing to do.

Defaulting, CEL rules and list-type checks act only where their keyword appears
(``default``, ``x-kubernetes-validations``, ``x-kubernetes-list-type``). Most of
a custom resource's schema has none of them (a GuestbookEntry's status has no
defaults and no rules), so every write would otherwise walk those parts for
nothing. The answer is cached per schema node: schemas are not changed once a
CRD is registered (a changed CRD brings new schema dicts).
"""

from __future__ import annotations

import threading
from typing import Any, Final

# Keys looked for. A key of that name anywhere below counts, even as a property
# name or inside a default value: that only makes the answer "yes" too often,
# which costs a walk and never skips one that was needed.
TRACKED: Final = ("default", "x-kubernetes-validations", "x-kubernetes-list-type")

_MAX_CACHED: Final = 100_000
# id(schema node) -> (the node, kept so its id is not reused, keywords below it)
_cache: dict[int, tuple[object, frozenset[str]]] = {}
_lock = threading.Lock()


def uses(schema: dict[str, Any], keyword: str) -> bool:
    """True when ``keyword`` (one of ``TRACKED``) is a key of ``schema`` or of any
    dict nested in it. Requires a schema that is not changed afterwards."""
    found = _cache.get(id(schema))
    if found is None or found[0] is not schema:
        keywords = _keywords_below(schema, set())
        with _lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.clear()
            _cache[id(schema)] = (schema, keywords)
        return keyword in keywords
    return keyword in found[1]


def _keywords_below(value: object, visiting: set[int]) -> frozenset[str]:
    if not isinstance(value, dict | list):
        return frozenset()
    if id(value) in visiting:  # a cycle: answer "everything" rather than loop
        return frozenset(TRACKED)
    visiting.add(id(value))
    found: set[str] = set()
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict):
        found.update(k for k in TRACKED if k in value)
    for child in children:
        if len(found) == len(TRACKED):
            break
        found |= _keywords_below(child, visiting)
    visiting.discard(id(value))
    return frozenset(found)

"""Schemas frozen for reuse, and which keywords their subtrees use.

Every write is admitted against the same CRD schema dicts. The server
``freeze``s the schemas it owns (a registered CRD's, never changed afterwards:
a changed CRD brings new dicts), and the defaulting, CEL-rule and list-type
walks skip the subtrees of a frozen schema that do not use their keyword
(``default``, ``x-kubernetes-validations``, ``x-kubernetes-list-type``): most
of a custom resource's schema has none, a GuestbookEntry's status no default
and no rule. Schemas that are not frozen (built on the fly, perhaps changed
later) are walked in full.
"""

from __future__ import annotations

import threading
from typing import Any, Final

# Keys looked for. A key of that name anywhere below counts, even as a property
# name or inside a default value: that only makes the answer "yes" too often,
# which costs a walk and never skips one that was needed.
TRACKED: Final = ("default", "x-kubernetes-validations", "x-kubernetes-list-type")

_MAX_FROZEN: Final = 200_000
# id(node) -> (the node, kept so its id is not reused, the keywords at and below it)
_frozen: dict[int, tuple[object, frozenset[str]]] = {}
_lock = threading.Lock()


def freeze(root: dict[str, Any]) -> None:
    """Mark ``root`` and every dict in it as unchanging, so their answers are cached.

    Requires that nobody changes them afterwards. Cheap when ``root`` is frozen already.
    """
    if is_frozen(root):
        return
    found: dict[int, tuple[object, frozenset[str]]] = {}
    _record(root, found, set())
    with _lock:
        if len(_frozen) + len(found) > _MAX_FROZEN:
            _frozen.clear()  # CRDs come and go (tests): start again rather than grow
        _frozen.update(found)


def is_frozen(schema: object) -> bool:
    """True when ``schema`` was frozen (as part of a frozen root)."""
    entry = _frozen.get(id(schema))
    return entry is not None and entry[0] is schema


def uses(schema: dict[str, Any], keyword: str) -> bool:
    """False only when ``schema`` is frozen and ``keyword`` (one of ``TRACKED``) is a
    key of no dict in it; a walk looking for ``keyword`` can then skip ``schema``."""
    entry = _frozen.get(id(schema))
    if entry is None or entry[0] is not schema:
        return True
    return keyword in entry[1]


def _record(
    value: object, found: dict[int, tuple[object, frozenset[str]]], visiting: set[int]
) -> frozenset[str]:
    """The tracked keywords at and below ``value``, recording each dict's in ``found``."""
    if not isinstance(value, dict | list):
        return frozenset()
    if id(value) in visiting:  # a cycle: answer "everything" rather than loop
        return frozenset(TRACKED)
    visiting.add(id(value))
    keywords: set[str] = set()
    if isinstance(value, dict):
        keywords.update(k for k in TRACKED if k in value)
        children: Any = value.values()
    else:
        children = value
    for child in children:
        keywords |= _record(child, found, visiting)
    visiting.discard(id(value))
    result = frozenset(keywords)
    if isinstance(value, dict):
        found[id(value)] = (value, result)
    return result

"""Each entry's HTML on the page, rendered once per version of the entry.

While the workers seal, every seal changes one entry, and the page is rendered
again for each change (decision 0128). Rendering all of its entries each time
cost 6-12 ms for 100 entries; keeping each entry's fragment by name and
resourceVersion makes a change cost one entry's rendering and a join (decision
0153). The fragments come from the same ``_entry.html`` the page's ``<template>``
uses, so a rendered and a script-filled entry still look alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from markupsafe import Markup

from guestbook_webui.entry_view import entry_json

TEMPLATE = "_entry.html"


class EntryFragments:
    """The rendered ``_entry.html`` of the entries last shown, by name and version."""

    def __init__(self, environment: jinja2.Environment) -> None:
        self._template = environment.get_template(TEMPLATE)
        self._kept: dict[str, tuple[str, Markup]] = {}

    def render(self, entries: Sequence[Mapping[str, Any]]) -> list[Markup]:
        """The HTML of each of ``entries`` (resources as the API returns them), in
        their order. Fragments of entries not among them are dropped, so what is
        kept never outgrows one page."""
        kept: dict[str, tuple[str, Markup]] = {}
        shown: list[Markup] = []
        for entry in entries:
            meta = entry.get("metadata") or {}
            name = str(meta.get("name") or "")
            version = str(meta.get("resourceVersion") or "")
            known = self._kept.get(name)
            if known is None or known[0] != version or not version:
                known = (version, Markup(self._template.render(entry=entry_json(entry))))
            kept[name] = known
            shown.append(known[1])
        self._kept = kept
        return shown

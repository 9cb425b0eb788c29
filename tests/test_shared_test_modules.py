"""Test folders share helpers through uniquely named modules, never ``conftest``.

pytest puts every test folder on ``sys.path`` (rootdir-relative "prepend" import
mode) and imports each ``conftest.py`` under a package-less name: ``from conftest
import x`` then gets whichever folder's conftest was imported first, and
``pytest tests/devcluster tests/operator`` failed to collect. Two helper modules
with one name would collide the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent
_IMPORTS_CONFTEST = re.compile(r"^\s*(from\s+conftest\s+import|import\s+conftest\b)", re.M)


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_test_module_imports_a_conftest() -> None:
    offenders = [
        str(p.relative_to(TESTS))
        for p in _python_files()
        if _IMPORTS_CONFTEST.search(p.read_text())
    ]
    assert offenders == [], "move the shared helpers into a uniquely named module"


def test_helper_and_test_module_names_are_unique_across_folders() -> None:
    folders: defaultdict[str, list[str]] = defaultdict(list)
    for path in _python_files():
        if path.name not in ("conftest.py", "__init__.py"):
            folders[path.stem].append(str(path.parent.relative_to(TESTS)))
    assert {name: where for name, where in folders.items() if len(where) > 1} == {}

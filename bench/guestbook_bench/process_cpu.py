"""CPU seconds used by processes and process trees, read from Linux's /proc.

For `guestbook-ledger bench e2e`, which reports where the CPU of a burst goes
(operator, API server, worker pods, PostgreSQL, the benchmark itself). Linux
only: elsewhere every figure is None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessTimes:
    """One process's CPU time in clock ticks, from ``/proc/PID/stat``.

    ``own`` is the process's user + system time (all its threads); ``children``
    the same for its children that have exited and been waited for (and for
    their waited-for descendants, recursively).
    """

    pid: int
    parent: int
    own: int
    children: int


def parse_stat(text: str) -> ProcessTimes:
    """The fields of one ``/proc/PID/stat`` line this module uses.

    The command name (field 2) is in parentheses and may itself contain spaces
    and parentheses, so the fields are counted from its last ``)``. Raises
    ValueError when the line does not have that shape.
    """
    head, close, tail = text.rpartition(")")
    if not close or "(" not in head:
        raise ValueError(f"not a /proc/PID/stat line: {text[:80]!r}")
    pid = int(head.split("(", 1)[0])
    fields = tail.split()
    # After the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt
    # majflt cmajflt utime stime cutime cstime (proc(5), fields 3-17).
    if len(fields) < 15:
        raise ValueError(f"a /proc/PID/stat line with too few fields: {text[:80]!r}")
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ProcessTimes(pid=pid, parent=int(fields[1]), own=utime + stime, children=cutime + cstime)


def read_times(pid: int) -> ProcessTimes | None:
    """The times of process ``pid``; None when it does not exist (or no /proc)."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError):
        return None


def all_processes() -> dict[int, ProcessTimes]:
    """Every process visible in /proc, by PID (processes ending meanwhile are left out)."""
    found: dict[int, ProcessTimes] = {}
    for entry in PROC.iterdir() if PROC.is_dir() else []:
        if entry.name.isdigit():
            times = read_times(int(entry.name))
            if times is not None:
                found[times.pid] = times
    return found


def descendants(root: int, processes: dict[int, ProcessTimes]) -> list[ProcessTimes]:
    """The live descendants of ``root`` (children, their children, ...) in ``processes``."""
    children: dict[int, list[ProcessTimes]] = {}
    for times in processes.values():
        children.setdefault(times.parent, []).append(times)
    found, frontier = [], [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child.pid)
    return found


def ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def tree_ticks(
    root: int, processes: dict[int, ProcessTimes], *, include_root_own: bool = True
) -> int | None:
    """CPU ticks of ``root``'s process tree so far: every live member's own and
    exited children's time, and ``root``'s exited children's time.

    The difference of two readings is what the tree used in between, processes
    that started or ended meanwhile included (an ended process's time moves to
    its parent's children figure when it is waited for). ``include_root_own``
    False leaves ``root``'s own time out (to count a server's child processes
    apart from the server). None when ``root`` is not running.
    """
    top = processes.get(root)
    if top is None:
        return None
    total = top.children + (top.own if include_root_own else 0)
    return total + sum(d.own + d.children for d in descendants(root, processes))


def own_ticks(pid: int, processes: dict[int, ProcessTimes]) -> int | None:
    """CPU ticks of process ``pid`` alone (all its threads); None when not running."""
    times = processes.get(pid)
    return None if times is None else times.own

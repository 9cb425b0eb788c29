"""The machine a benchmark ran on, for the figures' heading in docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, or the platform's processor name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe_machine() -> str:
    """E.g. "2026-11-25 12:00 UTC, 2 CPUs (AMD EPYC), 23 GiB RAM, Linux 6.1, Python 3.11.7,
    load average 0.5, 0.4, 0.3" (taken when called: call it when the run ends)."""
    cpus = len(os.sched_getaffinity(0))  # what `nproc` reports
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) // (1024 * 1024)} GiB RAM"
    except OSError:
        pass
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Other work on the machine skews figures; the load average says how much there was.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{now}, {cpus} CPUs ({cpu_model()}){memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, load average {load}"
    )

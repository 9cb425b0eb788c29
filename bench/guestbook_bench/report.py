"""The Markdown section `guestbook-ledger bench ledger` prints for docs/benchmarks.md."""

from __future__ import annotations

from guestbook_bench.stored import AuditFigures, StoredFigures


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def ledger_markdown(
    *,
    machine: str,
    server: str,
    memory: dict[str, float],
    stored: list[StoredFigures],
    audit: AuditFigures,
    batch: int,
    targets: tuple[float, float, float],
) -> str:
    """Render the figures, each target with its measured value and met/missed."""
    root_target, append_target, proof_target = targets
    leaves = int(memory["leaves"])
    largest = stored[-1]
    pymerkle_note = (
        ""
        if memory["pymerkle_measured_leaves"] == memory["leaves"]
        else f" (measured on {int(memory['pymerkle_measured_leaves']):,} leaves, scaled)"
    )
    lines = [
        f"Measured {machine}; {server}.",
        "",
        "| goal | target | measured | |",
        "|---|---|---|---|",
        f"| root of {leaves:,} leaves in memory | ≤ {root_target:.1f} s | "
        f"{memory['guestbook_ledger_s']:.2f} s | "
        f"{_verdict(memory['guestbook_ledger_s'], root_target)} |",
        f"| append a {batch:,}-entry batch to a stored ledger of {largest.leaves:,} leaves "
        f"(median) | ≤ {append_target:.0f} ms | {largest.append_ms:.1f} ms | "
        f"{_verdict(largest.append_ms, append_target)} |",
        f"| inclusion proof from a stored ledger of {largest.leaves:,} leaves (median) | "
        f"≤ {proof_target:.0f} ms | {largest.inclusion_ms:.2f} ms | "
        f"{_verdict(largest.inclusion_ms, proof_target)} |",
        "",
        f"Root of {leaves:,} leaves in memory, same leaves, same run:",
        "",
        "| implementation | seconds | same root as ours |",
        "|---|---|---|",
        f"| guestbook_ledger.format.tree.root_hash (best of 3) | "
        f"{memory['guestbook_ledger_s']:.2f} | — |",
        f"| merkle (0.1.x, prehashed leaves) | {memory['merkle_s']:.2f} | "
        f"{'yes' if memory['merkle_root_matches'] else 'no (no node prefix)'} |",
        f"| pymerkle InmemoryTree (hashes the records itself){pymerkle_note} | "
        f"{memory['pymerkle_s']:.2f} | {'yes' if memory['pymerkle_root_matches'] else 'no'} |",
        f"| {leaves - 1:,} bare hashlib.sha256 calls (floor for a naive loop) | "
        f"{memory['sha256_calls_s']:.2f} | — |",
        f"| hashing {leaves:,} records into leaf hashes (ours) | "
        f"{memory['leaf_hashing_s']:.2f} | — |",
        "",
        f"Stored ledger: cost of one {batch:,}-entry append (seal_batch of pre-hashed entries, "
        "one transaction incl. commit) and of one proof, by ledger size. Admitting the batch "
        "(one transaction) and one worker claiming and hashing it (until the queue is empty) "
        "are shown for context; workers do the latter in parallel.",
        "",
        "| leaves | admit batch (median) | claim + hash batch (median) | "
        "append batch (median, min–max) | inclusion proof (median / p95) | "
        "consistency proof (median / p95) |",
        "|---|---|---|---|---|---|",
    ]
    for row in stored:
        lines.append(
            f"| {row.leaves:,} | {row.admit_ms:.1f} ms | {row.claim_ms:.1f} ms | "
            f"{row.append_ms:.1f} ms "
            f"({row.append_min_ms:.1f}–{row.append_max_ms:.1f}) | {row.inclusion_ms:.2f} / "
            f"{row.inclusion_p95_ms:.2f} ms | {row.consistency_ms:.2f} / "
            f"{row.consistency_p95_ms:.2f} ms |"
        )
    findings = "no mismatches" if not audit.mismatches else f"**{audit.mismatches} mismatches**"
    lines += [
        "",
        f"Full audit (`guestbook-ledger audit`: every record, leaf hash, node and signed head "
        f"recomputed) of the final {audit.leaves:,}-leaf ledger: {audit.seconds:.1f} s "
        f"({audit.leaves / audit.seconds:,.0f} entries/s), {findings}.",
    ]
    return "\n".join(lines)

"""`guestbook-ledger monitor URL --vkey VKEY --state DIR`: follow a ledger served per
C2SP tlog-tiles, trusting nothing the server says that its signature and its
hashes do not prove.

Every run fetches ``URL/checkpoint`` and opens it with the log's verifier key,
then compares it with the checkpoint the previous run verified (kept in
``DIR/checkpoint``): a smaller tree, or the same size with another root, is a
fork. For a larger tree it fetches every tile and entry bundle that is new
since (`guestbook_ledger.format.tile_verification`), re-derives each — leaf
hashes from the bundles' records, each full tile's hash in the tile above —
computes the new root from the tiles and requires it to be the checkpoint's,
and computes the old root from the same tiles and requires it to be the one
verified before: consistency proven from the hashes, as a tile client does.
Only then is the new checkpoint kept.

Exit status: 0 verified ("OK: …" on stdout); 1 the log failed verification
(fork, bad tile or bundle, bad checkpoint; one line on stdout); 2 usage or a
state directory that is not this log's; 3 the log could not be read (network,
HTTP errors): nothing was verified and the state is unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from guestbook_ledger.usage import UsageError

from guestbook_cli.verify import VKEY, note_verifier, required_options

if TYPE_CHECKING:
    import httpx
    from guestbook_ledger.format.checkpoint import Checkpoint
    from guestbook_ledger.format.note import NoteVerifier
    from guestbook_ledger.format.tiles import TilePath

T = TypeVar("T")
R = TypeVar("R")

STATE_FILE = "checkpoint"
FETCHERS = 4
"""Tiles fetched concurrently: HTTP latency, not hashing, bounds a catch-up."""
PROGRESS_MIN_BUNDLES = 4
"""Catch-ups of at least this many entry bundles report progress on stderr."""
MAX_TILE_BYTES = 256 * 32
MAX_BUNDLE_BYTES = 256 * (2 + 0xFFFF)
MAX_CHECKPOINT_BYTES = 1024 * 1024

EXIT_FAILED = 1
EXIT_UNAVAILABLE = 3


class LogFailure(Exception):
    """The log served something that does not verify; the message is the one-line reason."""


class LogUnavailable(Exception):
    """The log could not be read (network error, HTTP error status, oversized answer)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `monitor`."""
    monitor = subparsers.add_parser(
        "monitor",
        help="follow a ledger's tiles, prove each new checkpoint consistent with the last one",
        description="Follow a ledger served per C2SP tlog-tiles (the web UI's /checkpoint and "
        "/tile/...): verify its checkpoint with the log's key, re-derive every tile and entry "
        "bundle that is new since the checkpoint kept in --state, prove from the tiles that the "
        "new tree extends the old one, and keep the new checkpoint. Run it from cron; a fork "
        "(the log showing another history than before) or a bad tile is exit status 1.",
        epilog="Exit status: 0 verified, 1 fork, bad tile or bad checkpoint (one-line reason), "
        "2 usage, 3 the log could not be read (state unchanged).",
    )
    monitor.add_argument("url", metavar="URL", help="the log's URL prefix, e.g. https://HOST")
    required_options(monitor, VKEY)
    monitor.add_argument(
        "--state",
        required=True,
        metavar="DIR",
        type=Path,
        help="where the last verified checkpoint is kept (created if missing; one per log)",
    )
    monitor.add_argument(
        "--timeout",
        default="30",
        metavar="SECONDS",
        help="timeout of each HTTP request (default 30)",
    )
    monitor.set_defaults(func=run_monitor)


@dataclass(frozen=True)
class Verified:
    """A checkpoint that verified, and its note as served."""

    checkpoint: Checkpoint
    note: bytes


def _open(note: bytes, verifier: NoteVerifier) -> Checkpoint:
    """Open a checkpoint note; LogFailure (exit 1) when it is malformed or not signed."""
    from guestbook_ledger.format import (
        CheckpointFormatError,
        NoteFormatError,
        SignatureError,
        open_checkpoint,
    )

    try:
        return open_checkpoint(note, verifier)
    except (NoteFormatError, CheckpointFormatError, SignatureError) as exc:
        raise LogFailure(f"BAD CHECKPOINT: {exc}") from None


def _read_state(state: Path, verifier: NoteVerifier) -> Verified | None:
    """The checkpoint kept in ``state``, verified again; None for a new state.
    UsageError when it cannot be read or is not a checkpoint of this log."""
    path = state / STATE_FILE
    try:
        note = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        return Verified(_open(note, verifier), note)
    except LogFailure as exc:
        raise UsageError(
            f"{path} does not hold a checkpoint of this log ({exc}); give each log its own "
            "--state directory"
        ) from None


def _write_state(state: Path, note: bytes) -> None:
    """Replace the kept checkpoint atomically (a crash leaves the old or the new one)."""
    temporary = state / (STATE_FILE + ".new")
    with temporary.open("wb") as handle:
        handle.write(note)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, state / STATE_FILE)


BUSY_RETRIES = 30
BUSY_WAIT_SECONDS = 10.0


def _seconds(headers: Mapping[str, str]) -> float | None:
    """A Retry-After header in seconds (an HTTP date is not used by logs; None)."""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


class TileClient:
    """GETs from a tlog-tiles log at ``url`` (an HTTP client of the caller's)."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url.rstrip("/")

    def get(self, path: str, limit: int) -> tuple[int, bytes]:
        """Status and body of ``GET <url>/<path>``; LogUnavailable on network
        errors, LogFailure for a body over ``limit`` bytes (nothing the log
        may serve is that large). A 429 or 503 with a Retry-After is waited out
        (at most ``BUSY_WAIT_SECONDS`` each time, ``BUSY_RETRIES`` times): a log
        behind a rate limit is read more slowly, not reported unavailable."""
        for _ in range(BUSY_RETRIES):
            status, body, retry_after = self._get_once(path, limit)
            if status not in (429, 503) or retry_after is None:
                return status, body
            time.sleep(min(retry_after, BUSY_WAIT_SECONDS))
        return status, body

    def _get_once(self, path: str, limit: int) -> tuple[int, bytes, float | None]:
        import httpx

        try:
            with self.client.stream("GET", f"{self.url}/{path}") as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        kind = "BAD CHECKPOINT" if path == "checkpoint" else "BAD TILE"
                        raise LogFailure(f"{kind}: the log's {path} is over {limit} bytes")
                return response.status_code, bytes(body), _seconds(response.headers)
        except httpx.HTTPError as exc:
            raise LogUnavailable(f"{path}: {type(exc).__name__}: {exc}") from None

    def must_get(self, path: str, limit: int) -> bytes:
        status, body = self.get(path, limit)
        if status != 200:
            raise LogUnavailable(f"the log answered {path} with HTTP {status}")
        return body

    def tile(self, tile: TilePath, limit: int) -> bytes:
        """A tile or bundle; a missing partial one is cut from its full tile, as
        tlog-tiles lets clients do once the full one exists."""
        from guestbook_ledger.format.tiles import TILE_WIDTH, TilePath

        status, body = self.get(tile.to_path(), limit)
        if status == 404 and tile.is_partial:
            full = self.must_get(TilePath(tile.level, tile.index, TILE_WIDTH).to_path(), limit)
            if tile.level is not None:
                return full[: 32 * tile.width]
            from guestbook_ledger.format.tiles import entry_bundle, parse_entry_bundle

            try:
                return entry_bundle(parse_entry_bundle(full)[: tile.width])
            except ValueError:
                return full  # check_bundle names what is wrong with it
        if status != 200:
            raise LogUnavailable(f"the log answered {tile.to_path()} with HTTP {status}")
        return body


class Progress:
    """Progress of a long catch-up on stderr, at every tenth (deterministic, no timers)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.shown = 0
        self.enabled = total >= PROGRESS_MIN_BUNDLES

    def advance(self, done: int) -> None:
        tenth = done * 10 // self.total if self.total else 10
        if self.enabled and tenth > self.shown:
            self.shown = tenth
            print(
                f"monitor: re-derived {done} of {self.total} entry bundles "
                f"({done * 100 // self.total}%)",
                file=sys.stderr,
                flush=True,
            )


@dataclass(frozen=True)
class CatchUp:
    """The roots of both trees computed from the same tiles, and what was fetched."""

    new_root: bytes
    old_root: bytes
    tiles: int
    bundles: int


def catch_up(log: TileClient, old_size: int, new_size: int) -> CatchUp:
    """Fetch and re-derive every tile and bundle new since ``old_size``; return the
    roots of ``new_size`` and of ``old_size`` computed from the same tiles.
    Raises LogFailure for a bad tile or bundle, LogUnavailable when one cannot
    be read."""
    from guestbook_ledger.format import TileError
    from guestbook_ledger.format.tile_verification import (
        TileKey,
        check_bundle,
        check_parent,
        perfect_root,
        root_from_tiles,
        split_tile,
        tiles_to_fetch,
    )
    from guestbook_ledger.format.tiles import TILE_WIDTH, TilePath

    paths = tiles_to_fetch(old_size, new_size)

    def fetch(path: TilePath) -> list[bytes]:
        """A tile's hashes; for level 0 checked against its entry bundle too."""
        hashes = split_tile(path, log.tile(path, MAX_TILE_BYTES))
        if path.level == 0:
            bundle = log.tile(TilePath(None, path.index, path.width), MAX_BUNDLE_BYTES)
            check_bundle(path, hashes, bundle)
        return hashes

    levels = sorted({p.level for p in paths if p.level is not None})
    edges: dict[TileKey, list[bytes]] = {}  # the first and last tile of each level
    child_roots: dict[int, bytes] = {}  # full tiles of the level below: index -> hash
    bundles = [p for p in paths if p.level == 0]
    progress = Progress(len(bundles))
    try:
        for level in levels:
            at_level = [p for p in paths if p.level == level]
            roots: dict[int, bytes] = {}
            # Closed on the way out, so a failure stops the fetches still running.
            with contextlib.closing(_in_order(fetch, at_level)) as fetched:
                for done, (path, hashes) in enumerate(zip(at_level, fetched, strict=True), 1):
                    if level == 0:
                        progress.advance(done)
                    for position in range(path.width):
                        child = path.first_node() + position
                        if child in child_roots:
                            below = TilePath(level - 1, child, TILE_WIDTH)
                            check_parent(path, hashes, below, child_roots.pop(child))
                    if path.width == TILE_WIDTH:
                        roots[path.index] = perfect_root(hashes)
                    if path is at_level[0] or path is at_level[-1]:
                        edges[(level, path.index)] = hashes
            if child_roots:  # a full tile without a parent hash: the tree is malformed
                orphan = TilePath(level - 1, min(child_roots), TILE_WIDTH)
                raise TileError(f"{orphan.to_path()} has no hash in the level above")
            child_roots = roots
    except TileError as exc:
        raise LogFailure(f"BAD TILE: {exc}") from None
    return CatchUp(
        new_root=root_from_tiles(new_size, edges),
        old_root=root_from_tiles(old_size, edges),
        tiles=len(paths),
        bundles=len(bundles),
    )


def _in_order(fetch: Callable[[T], R], items: Sequence[T]) -> Generator[R, None, None]:
    """``fetch`` of each item, in order, FETCHERS at a time and at most 2·FETCHERS
    ahead of the consumer, so memory stays bounded (a bundle can be 16 MiB)."""
    with ThreadPoolExecutor(FETCHERS, thread_name_prefix="monitor-fetch") as pool:
        window: deque[Future[R]] = deque()
        try:
            for item in items:
                window.append(pool.submit(fetch, item))
                if len(window) >= 2 * FETCHERS:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for pending in window:
                pending.cancel()


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise UsageError(f"--timeout must be a number of seconds, 0 to 3600; got {text[:30]!r}")
    return value


def run_monitor(args: argparse.Namespace) -> int:
    verifier = note_verifier(args.vkey)
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"URL must start with http:// or https://; got {args.url[:80]!r}")
    timeout = _timeout(args.timeout)
    state: Path = args.state
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the state directory {str(state)!r}: {exc.strerror}"
        ) from None
    before = _read_state(state, verifier)
    try:
        summary = _monitor(args.url, verifier, before, state, timeout)
    except LogFailure as exc:
        print(f"{exc}")
        return EXIT_FAILED
    except LogUnavailable as exc:
        print(f"UNAVAILABLE: {exc}; nothing was verified, the state is unchanged")
        return EXIT_UNAVAILABLE
    print(f"OK: {summary}")
    return 0


def _monitor(
    url: str, verifier: NoteVerifier, before: Verified | None, state: Path, timeout: float
) -> str:
    import httpx

    with httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": "guestbook-ledger-monitor"},
    ) as client:
        log = TileClient(client, url)
        note = log.must_get("checkpoint", MAX_CHECKPOINT_BYTES)
        latest = _open(note, verifier)
        new_size, new_root = latest.tree_size, latest.root_hash
        old_size = 0 if before is None else before.checkpoint.tree_size
        old_root = None if before is None else before.checkpoint.root_hash
        where = f"{latest.origin} at size {new_size}"
        if new_size == old_size and old_root is not None:
            if new_root != old_root:
                raise LogFailure(
                    f"FORK: the log's checkpoint of size {new_size} has root {new_root.hex()}, "
                    f"but the checkpoint verified before at that size has root {old_root.hex()}"
                )
            return f"{where} with root {new_root.hex()}, unchanged since the last run"
        if old_root is not None and new_size < old_size:
            # An older checkpoint (a lagging cache or mirror) is fine if it is a prefix
            # of the tree verified before: prove it from the tiles of that tree.
            prefix = catch_up(log, new_size, old_size)
            big_root, small_root = prefix.new_root, prefix.old_root
            if big_root != old_root or small_root != new_root:
                raise LogFailure(
                    f"FORK: the log's checkpoint of size {new_size} is not a prefix of the tree "
                    f"of size {old_size} verified before (its tiles give root {big_root.hex()} "
                    f"at size {old_size}, not {old_root.hex()}, and {small_root.hex()} at size "
                    f"{new_size}, not {new_root.hex()})"
                )
            return (
                f"{where} is older than size {old_size} verified before, and a prefix of it; "
                "the state keeps the newer one"
            )
        fetched = catch_up(log, old_size, new_size)
    from_tiles, old_from_tiles = fetched.new_root, fetched.old_root
    if from_tiles != new_root:
        raise LogFailure(
            f"BAD TILE: the tiles of size {new_size} hash to root {from_tiles.hex()}, but the "
            f"checkpoint's root is {new_root.hex()}"
        )
    if old_root is not None and old_from_tiles != old_root:
        raise LogFailure(
            f"FORK: the log's tree of size {new_size} does not extend the tree of size "
            f"{old_size} verified before: its tiles give root {old_from_tiles.hex()} at size "
            f"{old_size}, not {old_root.hex()}"
        )
    _write_state(state, note)
    grew = (
        f"grew from size {old_size} to {new_size}" if before else f"first seen at size {new_size}"
    )
    return (
        f"{latest.origin} {grew} with root {new_root.hex()}; {new_size - old_size} new entries, "
        f"{fetched.tiles} tiles and {fetched.bundles} entry bundles re-derived"
        + (f", consistent with size {old_size}" if before else "")
    )

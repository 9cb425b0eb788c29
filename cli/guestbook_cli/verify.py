"""`guestbook-ledger verify …`: check proofs, checkpoints and signed tree heads offline.

Nothing here trusts or contacts the ledger's server: an auditor passes hashes in
hex (as shown by `kubectl get guestbookentries` or the web UI) and gets a
verdict. Exit status 0 = valid ("OK: …" on stdout), 1 = invalid
("INVALID: …" on stdout), 2 = malformed input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from guestbook_ledger.usage import UsageError

if TYPE_CHECKING:
    from guestbook_ledger.format import NoteVerifier
    from guestbook_ledger.format.cosignature import Cosigner

_MAX_NUMBER_DIGITS = 20
_MAX_KEY_FILE_BYTES = 16 * 1024

VKEY = ("--vkey", "VKEY", "the log's note verifier key, <origin>+<hex key ID>+<base64 key>")
_EPILOG = (
    "Exit status: 0 valid, 1 invalid (one-line reason), 2 malformed input. "
    "Hashes are 64 hex digits; a proof is hashes joined by commas, "
    'and --proof "" is the empty proof.'
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `verify inclusion`, `verify consistency`, `verify proof`, `verify checkpoint`
    and `verify sth`."""
    verify = subparsers.add_parser(
        "verify",
        help="check inclusion and consistency proofs, proof files, checkpoints and signed "
        "tree heads offline",
        description="Check RFC 9162 proofs, C2SP tlog-proof files, C2SP checkpoints and "
        "Ed25519 signed tree heads offline.",
        epilog=_EPILOG,
    )
    kinds = verify.add_subparsers(dest="kind", metavar="KIND", required=True)

    inclusion = kinds.add_parser(
        "inclusion",
        help="check that a leaf is in the tree with a given root",
        description="Check an RFC 9162 inclusion proof: leaf I is in the tree of N leaves "
        "with root R.",
        epilog=_EPILOG,
    )
    required_options(
        inclusion,
        ("--leaf-hash", "HEX", "the leaf's hash"),
        ("--index", "I", "the leaf's index (0-based)"),
        ("--size", "N", "the tree's size"),
        ("--root", "HEX", "the tree's root hash"),
        ("--proof", "H1,H2,...", "the proof"),
    )
    inclusion.set_defaults(func=run_inclusion)

    consistency = kinds.add_parser(
        "consistency",
        help="check that a later tree extends an earlier one",
        description="Check an RFC 9162 consistency proof: the tree of size A with root R1 "
        "is a prefix of the tree of size B with root R2.",
        epilog=_EPILOG,
    )
    required_options(
        consistency,
        ("--size1", "A", "the earlier size"),
        ("--size2", "B", "the later size"),
        ("--root1", "HEX", "the earlier root"),
        ("--root2", "HEX", "the later root"),
        ("--proof", "H1,H2,...", "the proof"),
    )
    consistency.set_defaults(func=run_consistency)

    proof_file = kinds.add_parser(
        "proof",
        help="check a C2SP tlog-proof file: log signature, inclusion, witness cosignatures",
        description="Check a proof file (c2sp.org/tlog-proof@v1, as the web UI's verify page "
        "offers it): the checkpoint is signed by the log's key (--vkey) and names its origin, "
        "the entry record it carries (or --leaf-hash) is the leaf at its index in that tree, "
        "and at least --policy of the --witness-vkey witnesses cosigned the checkpoint. "
        "Signatures by keys not given are ignored, as signed-note requires.",
        epilog=_EPILOG,
    )
    proof_file.add_argument(
        "file", metavar="FILE", type=Path, help="the proof file (.tlog-proof); - reads stdin"
    )
    required_options(proof_file, VKEY)
    proof_file.add_argument(
        "--witness-vkey",
        action="append",
        default=[],
        metavar="VKEY",
        help="a witness's cosignature verifier key, <name>+<hex key ID>+<base64 key>; repeat "
        "for each witness of the policy",
    )
    proof_file.add_argument(
        "--policy",
        metavar="K",
        help="how many of the --witness-vkey witnesses must have cosigned (default: all of them)",
    )
    proof_file.add_argument(
        "--leaf-hash",
        metavar="HEX",
        help="the entry's leaf hash (kubectl get gbe shows it): the proof must be for this leaf; "
        "needed when the file carries no entry record",
    )
    proof_file.set_defaults(func=run_proof)

    checkpoint = kinds.add_parser(
        "checkpoint",
        help="check a C2SP checkpoint (signed note) against a note verifier key",
        description="Check that a checkpoint (a C2SP signed note, as /checkpoint serves it) is "
        "signed by the log's key and names its origin, e.g. curl -s https://HOST/checkpoint | "
        'guestbook-ledger verify checkpoint - --vkey "$(kubectl get ldg NAME -o '
        "jsonpath='{.status.verifierKey}')\". Signatures by other keys (witnesses) are ignored.",
        epilog=_EPILOG,
    )
    checkpoint.add_argument(
        "file", metavar="FILE", type=Path, help="the checkpoint note; - reads stdin"
    )
    required_options(checkpoint, VKEY)
    checkpoint.set_defaults(func=run_checkpoint)

    sth = kinds.add_parser(
        "sth",
        help="check a ledger format v1 signed tree head's Ed25519 signature",
        description="Check that a signed tree head (JSON, sealed before checkpoints) was "
        "signed by the given key, e.g. "
        "kubectl get ldg NAME -o jsonpath='{.status.signedTreeHead}' | "
        "guestbook-ledger verify sth - --public-key ledger.pub",
        epilog=_EPILOG,
    )
    sth.add_argument(
        "file", metavar="FILE", type=Path, help="the signed tree head (JSON); - reads stdin"
    )
    sth.add_argument(
        "--public-key", required=True, metavar="FILE", type=Path, help="the Ed25519 key (PEM)"
    )
    sth.set_defaults(func=run_sth)


def required_options(parser: argparse.ArgumentParser, *options: tuple[str, str, str]) -> None:
    """Add required text options, each given as (option, metavar, help); their
    values are parsed by the command, so a mistake is one clear sentence."""
    for option, metavar, help in options:
        parser.add_argument(option, required=True, metavar=metavar, help=help)


def _number(text: str, option: str) -> int:
    """Parse a non-negative whole number typed by a person, or raise UsageError."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > _MAX_NUMBER_DIGITS:
        shown = stripped if len(stripped) <= 30 else stripped[:30] + "…"
        raise UsageError(f"{option} must be a whole number of at least 0; got {shown!r}")
    return int(stripped)


def _invalid(reason: str) -> int:
    print(f"INVALID: {reason}")
    return 1


def _proof_verdict(check: Callable[[], str]) -> int:
    """Run ``check`` (parse the arguments, verify the proof, say what it proved)
    and print the verdict: exit status 0 valid, 1 invalid. Raises UsageError
    for a malformed hash or proof."""
    from guestbook_ledger.format import HashFormatError, ProofError, ProofFormatError

    try:
        proved = check()
    except (HashFormatError, ProofFormatError) as exc:
        raise UsageError(str(exc)) from None
    except ProofError as exc:
        return _invalid(str(exc))
    print(f"OK: {proved}")
    return 0


def run_inclusion(args: argparse.Namespace) -> int:
    from guestbook_ledger.format import parse_hash, parse_proof, verify_inclusion

    def check() -> str:
        leaf = parse_hash(args.leaf_hash, what="--leaf-hash")
        index = _number(args.index, "--index")
        size = _number(args.size, "--size")
        root = parse_hash(args.root, what="--root")
        proof = parse_proof(args.proof)
        verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=proof, root=root)
        return f"{leaf.hex()} is leaf {index} of the tree of size {size} with root {root.hex()}"

    return _proof_verdict(check)


def run_consistency(args: argparse.Namespace) -> int:
    from guestbook_ledger.format import parse_hash, parse_proof, verify_consistency

    def check() -> str:
        size1 = _number(args.size1, "--size1")
        size2 = _number(args.size2, "--size2")
        root1 = parse_hash(args.root1, what="--root1")
        root2 = parse_hash(args.root2, what="--root2")
        proof = parse_proof(args.proof)
        verify_consistency(size1=size1, size2=size2, proof=proof, root1=root1, root2=root2)
        return (
            f"the tree of size {size2} with root {root2.hex()} extends "
            f"the tree of size {size1} with root {root1.hex()}"
        )

    return _proof_verdict(check)


def _read(path: Path, limit: int, what: str) -> bytes:
    """Read at most ``limit`` bytes of ``path`` (``-`` is stdin), or raise
    UsageError saying why not."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {str(path)!r}: {exc.strerror}") from None
    if len(data) > limit:
        raise UsageError(f"the {what} {str(path)!r} is larger than {limit} bytes")
    return data


def run_sth(args: argparse.Namespace) -> int:
    from guestbook_ledger.format import (
        KeyFormatError,
        SignatureError,
        SignedTreeHead,
        TreeHeadFormatError,
        load_public_key_pem,
        verify_tree_head,
    )
    from guestbook_ledger.format.sth import MAX_DOCUMENT_SIZE

    document = _read(args.file, MAX_DOCUMENT_SIZE, "tree head file")
    key_data = _read(args.public_key, _MAX_KEY_FILE_BYTES, "public key file")
    try:
        head = SignedTreeHead.from_json(document)
        public_key = load_public_key_pem(key_data)
        verify_tree_head(head, public_key)
    except TreeHeadFormatError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    except KeyFormatError as exc:
        raise UsageError(f"{args.public_key}: {exc}") from None
    except SignatureError as exc:
        return _invalid(str(exc))
    print(
        f"OK: tree head of {head.ledger} at size {head.tree_size} with root "
        f"{head.root_hash.hex()}, {head.timestamp}, signed by key {head.key_id}"
    )
    return 0


def note_verifier(text: str) -> NoteVerifier:
    """The log's key given with --vkey; UsageError when it is malformed."""
    from guestbook_ledger.format import KeyFormatError, NoteVerifier

    try:
        return NoteVerifier.from_text(text)
    except KeyFormatError as exc:
        raise UsageError(f"--vkey: {exc}") from None


def run_checkpoint(args: argparse.Namespace) -> int:
    from guestbook_ledger.format import (
        CheckpointFormatError,
        NoteFormatError,
        SignatureError,
        open_checkpoint,
    )
    from guestbook_ledger.format.note import MAX_NOTE_SIZE

    note = _read(args.file, MAX_NOTE_SIZE, "checkpoint file")
    verifier = note_verifier(args.vkey)
    try:
        checkpoint = open_checkpoint(note, verifier)
    except (NoteFormatError, CheckpointFormatError) as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    except SignatureError as exc:
        return _invalid(str(exc))
    print(
        f"OK: checkpoint of {checkpoint.origin} at size {checkpoint.tree_size} with root "
        f"{checkpoint.root_hash.hex()}, signed by {verifier.name}+{verifier.key_id.hex()}"
    )
    return 0


def _witness_policy(args: argparse.Namespace) -> tuple[list[Cosigner], int]:
    """The --witness-vkey keys (distinct) and the --policy count; UsageError when
    either is malformed or the count is more than the witnesses given."""
    from guestbook_ledger.format import KeyFormatError
    from guestbook_ledger.format.cosignature import Cosigner

    witnesses: dict[tuple[str, bytes], Cosigner] = {}
    for text in args.witness_vkey:
        try:
            cosigner = Cosigner.from_text(text)
        except KeyFormatError as exc:
            raise UsageError(f"--witness-vkey: {exc}") from None
        witnesses[(cosigner.name, cosigner.key_id)] = cosigner
    quorum = len(witnesses) if args.policy is None else _number(args.policy, "--policy")
    if quorum > len(witnesses):
        raise UsageError(
            f"--policy {quorum} asks for more cosignatures than the {len(witnesses)} witnesses "
            "given with --witness-vkey"
        )
    return list(witnesses.values()), quorum


def _entry_summary(record: bytes | None) -> str:
    """`` (entry NAME by AUTHOR)`` read from a verified ledger record, or nothing."""
    import json

    try:
        fields = json.loads(record) if record is not None else None
    except ValueError:
        return ""
    if not isinstance(fields, dict) or not isinstance(fields.get("entry"), str):
        return ""
    author = fields.get("author")
    by = f" by {author!r}" if isinstance(author, str) and author else ""
    return f" (entry {fields['entry']!r}{by})"


def run_proof(args: argparse.Namespace) -> int:
    from guestbook_ledger.format import (
        CheckpointFormatError,
        CosignaturePolicyError,
        HashFormatError,
        NoteFormatError,
        ProofError,
        ProofFileFormatError,
        ProofFormatError,
        SignatureError,
        parse_hash,
    )
    from guestbook_ledger.format.proof_file import (
        MAX_PROOF_FILE_SIZE,
        parse_proof_file,
        verify_proof_file,
    )

    data = _read(args.file, MAX_PROOF_FILE_SIZE, "proof file")
    log = note_verifier(args.vkey)
    witnesses, quorum = _witness_policy(args)
    try:
        expected = None if args.leaf_hash is None else parse_hash(args.leaf_hash, "--leaf-hash")
    except HashFormatError as exc:
        raise UsageError(str(exc)) from None
    try:
        proof = parse_proof_file(data)
        verified = verify_proof_file(
            proof, log=log, witnesses=witnesses, quorum=quorum, expected_leaf_hash=expected
        )
    except (ProofFileFormatError, NoteFormatError, CheckpointFormatError, ProofFormatError) as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    except (SignatureError, CosignaturePolicyError, ProofError) as exc:
        return _invalid(str(exc))
    checkpoint = verified.checkpoint
    cosigned = ", ".join(c.cosigner.name for c in verified.cosignatures)
    witnessed = (
        f"; cosigned by {len(verified.cosignatures)} of {len(witnesses)} witnesses "
        f"({cosigned or 'none'}), policy {quorum}"
        if witnesses
        else ""
    )
    print(
        f"OK: leaf {verified.index}{_entry_summary(verified.record)} with hash "
        f"{verified.leaf_hash.hex()} is in the tree of {checkpoint.origin} at size "
        f"{checkpoint.tree_size} with root {checkpoint.root_hash.hex()}, signed by "
        f"{log.name}+{log.key_id.hex()}{witnessed}"
    )
    return 0

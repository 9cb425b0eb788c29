"""A Ledger gets its database rows, its Ed25519 signing key and the Secrets its
worker pods read; its checkpoint origin is fixed and its note verifier key
published; its first signed tree head (of the empty tree) is published."""

from __future__ import annotations

import datetime
from typing import Any, NoReturn

import kopf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import verifier_key
from guestbook_ledger.format.errors import KeyFormatError
from guestbook_ledger.format.sth import (
    generate_private_key,
    key_id,
    load_private_key_pem,
    private_key_to_pem,
    public_key_to_pem,
)
from guestbook_ledger.store.errors import OriginError
from guestbook_ledger.store.heads import latest_tree_head
from guestbook_ledger.store.ledgers import ensure_ledger
from guestbook_ledger.store.sealing import seal_batch
from guestbook_ledger.store.witnesses import (
    WitnessPolicyError,
    set_witness_policy,
    witness_policy,
)

from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.manifests import (
    SECRET_DSN_KEY,
    SECRET_PRIVATE_KEY,
    database_secret,
    database_secret_name,
    ledger_ref,
    owns_signing_key,
    signing_key_secret,
    signing_key_secret_name,
)
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import Runtime, runtime
from guestbook_operator.status import (
    LEDGER_READY,
    find_condition,
    ledger_not_ready_status,
    rfc3339,
    tree_head_status,
    updated_conditions,
)

# How long to wait before looking again for a Secret named in the spec.
MISSING_SECRET_RETRY_SECONDS = 10.0


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


@kopf.on.resume(*LEDGERS)
@kopf.on.create(*LEDGERS)
@kopf.on.update(*LEDGERS, field="spec.signingKeySecret")
@kopf.on.update(*LEDGERS, field="spec.witnesses")
@kopf.on.update(*LEDGERS, field="spec.witnessQuorum")
def provision(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    """Idempotent: the key Secret, the database Secret, the database rows (with the
    origin of ``spec.origin`` or the default), the first head."""
    rt = runtime(memo)
    ledger = plain(body)
    namespace, name = ledger["metadata"]["namespace"], ledger["metadata"]["name"]
    signer = _signing_key(rt, ledger)
    _database_secret(rt, ledger)
    ref = ledger_ref(ledger)
    try:
        with rt.db.connection() as conn:
            row = ensure_ledger(
                conn,
                ref,
                public_key=signer.public_key(),
                origin=(ledger.get("spec") or {}).get("origin") or None,
            )
            spec = ledger.get("spec") or {}
            if spec.get("witnesses") or witness_policy(conn, ref) is not None:
                set_witness_policy(
                    conn,
                    ref,
                    quorum=int(spec.get("witnessQuorum", 0)),
                    witnesses=list(spec.get("witnesses") or []),
                )
            head = latest_tree_head(conn, ref)
            if head is None:
                head = seal_batch(conn, ref, signer, max_entries=1).tree_head
    except DATABASE_DOWN as exc:
        raise kopf.TemporaryError(f"the ledger database is unavailable: {exc}", delay=5) from None
    except OriginError as exc:
        _not_ready(rt, ledger, "OriginConflict", str(exc))
    except WitnessPolicyError as exc:
        _not_ready(
            rt, ledger, "WitnessPolicyInvalid", f"spec.witnesses is not usable: {exc}; fix it."
        )
    current = ledger.get("status") or {}
    generation = int(ledger["metadata"].get("generation", 1))
    public = public_key_to_pem(signer.public_key()).decode("ascii")
    was_ready = (find_condition(current.get("conditions"), "Ready") or {}).get("status") == "True"
    kid = key_id(signer.public_key())
    status: dict[str, Any] = {
        "keyId": kid,
        "publicKey": public,
        "origin": row.origin,
        "verifierKey": verifier_key(row.origin, signer.public_key()),
        **tree_head_status(head.to_dict()),
        "conditions": updated_conditions(current, LEDGER_READY, generation=generation, now=_now()),
        "observedGeneration": generation,
    }
    rt.kube.patch_ledger_status(namespace, name, status)
    if not was_ready:
        rt.kube.post_event(
            ledger,
            type="Normal",
            reason="Provisioned",
            message=f"Ledger {ref} is ready; signing key {kid[:16]}….",
        )
    rt.nudge(ref)
    logger.info("ledger %s provisioned, tree size %d", ref, head.tree_size)


def _not_ready(rt: Runtime, ledger: dict[str, Any], reason: str, message: str) -> NoReturn:
    meta = ledger["metadata"]
    status = ledger_not_ready_status(
        ledger.get("status"),
        reason=reason,
        message=message,
        generation=int(meta.get("generation", 1)),
        now=_now(),
    )
    rt.kube.patch_ledger_status(meta["namespace"], meta["name"], status)
    rt.kube.post_event(ledger, type="Warning", reason=reason, message=message)
    raise kopf.TemporaryError(message, delay=MISSING_SECRET_RETRY_SECONDS)


def _signing_key(rt: Runtime, ledger: dict[str, Any]) -> Ed25519PrivateKey:
    """The Ledger's signing key: read from its Secret, generated on first use if owned."""
    namespace = ledger["metadata"]["namespace"]
    secret_name = signing_key_secret_name(ledger)
    data = rt.kube.read_secret(namespace, secret_name)
    if data is None and owns_signing_key(ledger):
        key = generate_private_key()
        manifest = signing_key_secret(
            ledger,
            private_key_to_pem(key).decode("ascii"),
            public_key_to_pem(key.public_key()).decode("ascii"),
        )
        if rt.kube.create_secret(manifest):
            return key
        data = rt.kube.read_secret(namespace, secret_name)  # another replica was first
    if data is None:
        _not_ready(
            rt,
            ledger,
            "SigningKeyMissing",
            f"The Secret {secret_name!r} named in spec.signingKeySecret does not exist in "
            f"namespace {namespace!r}; create it with an Ed25519 PEM key under "
            f"{SECRET_PRIVATE_KEY!r}.",
        )
    assert data is not None
    try:
        return load_private_key_pem(data.get(SECRET_PRIVATE_KEY, "").encode("utf-8"))
    except KeyFormatError as exc:
        _not_ready(
            rt,
            ledger,
            "SigningKeyInvalid",
            f"The Secret {secret_name!r} does not hold a usable signing key under "
            f"{SECRET_PRIVATE_KEY!r} ({exc}); store an unencrypted Ed25519 PKCS #8 PEM key.",
        )
        raise  # unreachable: _not_ready raises


def _database_secret(rt: Runtime, ledger: dict[str, Any]) -> None:
    """The Secret through which worker pods reach the database, kept up to date."""
    namespace = ledger["metadata"]["namespace"]
    name = database_secret_name(ledger)
    data = rt.kube.read_secret(namespace, name)
    if data is None:
        rt.kube.create_secret(database_secret(ledger, rt.config.worker_dsn))
    elif data.get(SECRET_DSN_KEY) != rt.config.worker_dsn:
        rt.kube.replace_secret_data(namespace, name, {SECRET_DSN_KEY: rt.config.worker_dsn})

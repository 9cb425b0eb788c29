"""A Ledger gets its database rows, its Ed25519 signing key and the Secrets its
worker pods read; its checkpoint origin is fixed and its note verifier key
published; its first signed tree head (of the empty tree) is published.

What it cannot do it says in the Ready condition (False, a reason, a message
saying what to do) and a Warning event, and tries again: workers without
database credentials of their own or without their ServiceAccount (decisions
0130, 0134), a Secret of the name it would write that it did not make (0131),
a lost signing key of a ledger the database holds (0132), the database down
(0133). A copy of the operator's own URI an earlier version left in
``<ledger>-database`` is retired, with a Warning event (0151)."""

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
from guestbook_ledger.store.errors import OriginError, UnknownLedgerError
from guestbook_ledger.store.heads import latest_tree_head
from guestbook_ledger.store.ledgers import ensure_ledger
from guestbook_ledger.store.schema import Connection
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
    WorkerDatabase,
    database_secret,
    database_secret_name,
    encoded_secret_data,
    generates_signing_key,
    ledger_ref,
    made_by_operator,
    owner_reference,
    signing_key_secret,
    signing_key_secret_name,
    worker_database,
)
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import Runtime, runtime
from guestbook_operator.status import (
    DATABASE_UNAVAILABLE,
    LEDGER_READY,
    find_condition,
    ledger_not_ready_status,
    rfc3339,
    tree_head_status,
    updated_conditions,
)

# How long to wait before looking again for what is missing (a Secret, a ServiceAccount).
MISSING_SECRET_RETRY_SECONDS = 10.0
# ... and for the database to answer again.
DATABASE_RETRY_SECONDS = 5.0


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


@kopf.on.resume(*LEDGERS)
@kopf.on.create(*LEDGERS)
@kopf.on.update(*LEDGERS, field="spec.signingKeySecret")
@kopf.on.update(*LEDGERS, field="spec.databaseSecret")
@kopf.on.update(*LEDGERS, field="spec.witnesses")
@kopf.on.update(*LEDGERS, field="spec.witnessQuorum")
def provision(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    """Idempotent: the worker pods' ServiceAccount and database Secret checked (or
    written), the key Secret, the database rows (with the origin of
    ``spec.origin`` or the default), the first head."""
    rt = runtime(memo)
    ledger = plain(body)
    namespace, name = ledger["metadata"]["namespace"], ledger["metadata"]["name"]
    ref = ledger_ref(ledger)
    _worker_service_account(rt, ledger)
    _worker_database_secret(rt, ledger)
    try:
        with rt.db.connection() as conn:
            signer = _signing_key(rt, ledger, conn)
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
        _not_ready(
            rt,
            ledger,
            DATABASE_UNAVAILABLE,
            f"The ledger database does not answer ({exc}); the Ledger becomes Ready when it "
            "does again.",
            delay=DATABASE_RETRY_SECONDS,
        )
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
    rt.nudges.nudge(ref)
    logger.info("ledger %s provisioned, tree size %d", ref, head.tree_size)


def _not_ready(
    rt: Runtime,
    ledger: dict[str, Any],
    reason: str,
    message: str,
    *,
    delay: float = MISSING_SECRET_RETRY_SECONDS,
) -> NoReturn:
    """Ready False with ``reason`` and ``message``, a Warning event when that is
    news, and Kopf tries the handler again after ``delay`` seconds."""
    meta = ledger["metadata"]
    current = ledger.get("status") or {}
    ready = find_condition(current.get("conditions"), "Ready") or {}
    news = (ready.get("status"), ready.get("reason"), ready.get("message")) != (
        "False",
        reason,
        message,
    )
    if news:
        status = ledger_not_ready_status(
            current,
            reason=reason,
            message=message,
            generation=int(meta.get("generation", 1)),
            now=_now(),
        )
        rt.kube.patch_ledger_status(meta["namespace"], meta["name"], status)
        rt.kube.post_event(ledger, type="Warning", reason=reason, message=message)
    raise kopf.TemporaryError(message, delay=delay)


def _worker_service_account(rt: Runtime, ledger: dict[str, Any]) -> None:
    """Worker and audit pods run as the configured ServiceAccount, which the chart
    makes only in ``worker.namespaces``: say so when it is not in this namespace."""
    account = rt.config.service_account
    namespace = ledger["metadata"]["namespace"]
    if account and not rt.kube.service_account_exists(namespace, account):
        _not_ready(
            rt,
            ledger,
            "WorkerServiceAccountMissing",
            f"The worker ServiceAccount {account!r} does not exist in namespace "
            f"{namespace!r}, so worker and audit pods cannot run here; add {namespace!r} "
            "to the chart's worker.namespaces (helm upgrade), which makes it and its "
            "RoleBinding.",
        )


def _worker_database_secret(rt: Runtime, ledger: dict[str, Any]) -> None:
    """The Secret through which worker pods reach the database: the user's, checked,
    or ``<ledger>-database``, written from GUESTBOOK_WORKER_DSN. Never the
    operator's own URI, never a Secret the operator did not make (decisions 0130,
    0131)."""
    namespace = ledger["metadata"]["namespace"]
    wanted = worker_database(ledger, rt.config)
    _retire_copy_of_operator_uri(rt, ledger, wanted)
    if not wanted.secret:
        _not_ready(
            rt,
            ledger,
            "WorkerDatabaseNotConfigured",
            "Worker pods have no database credentials: name a Secret of this namespace "
            f"that holds a worker role's connection URI in spec.databaseSecret (key "
            f"{SECRET_DSN_KEY!r}), or install the chart with worker.database.* set. The "
            "operator never hands out its own credentials.",
        )
    found = rt.kube.read_secret_object(namespace, wanted.secret)
    if not wanted.managed:
        if found is None or not found.data.get(wanted.key):
            what = "does not exist" if found is None else f"has no key {wanted.key!r}"
            _not_ready(
                rt,
                ledger,
                "WorkerDatabaseSecretMissing",
                f"The Secret {wanted.secret!r} for worker pods {what} in namespace "
                f"{namespace!r}; create it with a worker role's connection URI under "
                f"{wanted.key!r}.",
            )
        return
    dsn = rt.config.worker_dsn
    if found is None:
        if rt.kube.create_secret(database_secret(ledger, dsn)):
            return
        found = rt.kube.read_secret_object(namespace, wanted.secret)  # made meanwhile
        if found is None:
            raise kopf.TemporaryError(f"Secret {wanted.secret!r} came and went", delay=1)
    if not made_by_operator(found.labels, ledger):
        _not_ready(
            rt,
            ledger,
            "SecretNotOwned",
            f"A Secret {wanted.secret!r} that the operator did not make already exists in "
            f"namespace {namespace!r}; it is left as it is. Rename or delete it, or put a "
            "worker role's connection URI in a Secret of your own and name it in "
            "spec.databaseSecret.",
        )
    patch: dict[str, Any] = {}
    if found.data.get(SECRET_DSN_KEY) != dsn:  # a rotated password
        patch["data"] = encoded_secret_data({SECRET_DSN_KEY: dsn})
    if ledger["metadata"]["uid"] not in found.owner_uids:  # the Ledger was made again
        patch["metadata"] = {"ownerReferences": [owner_reference(ledger)]}
    if patch:
        rt.kube.patch_secret(namespace, wanted.secret, patch)


def _retire_copy_of_operator_uri(
    rt: Runtime, ledger: dict[str, Any], wanted: WorkerDatabase
) -> None:
    """After an upgrade from a version that copied the operator's own URI into
    ``<ledger>-database`` (decision 0151): when that Secret is the operator's (its
    labels) and still holds exactly ``GUESTBOOK_DSN``, put the worker URI there
    if the operator writes that Secret from GUESTBOOK_WORKER_DSN, else remove the
    key, and say so in a Warning event (once: afterwards the URI is gone).
    Raises KubeError."""
    namespace = ledger["metadata"]["namespace"]
    name = database_secret_name(ledger)
    found = rt.kube.read_secret_object(namespace, name)
    if (
        found is None
        or not made_by_operator(found.labels, ledger)
        or found.data.get(SECRET_DSN_KEY) != rt.config.dsn
    ):
        return
    rotate = (
        "Change the operator's database password: pods and readers of Secrets in "
        f"namespace {namespace!r} could read it."
    )
    if wanted.managed and wanted.secret == name:
        if rt.config.worker_dsn == rt.config.dsn:
            return  # configured so on purpose (GUESTBOOK_WORKER_DSN): not a leftover
        rt.kube.patch_secret(
            namespace, name, {"data": encoded_secret_data({SECRET_DSN_KEY: rt.config.worker_dsn})}
        )
        reason = "OperatorCredentialsReplaced"
        message = (
            f"The Secret {name!r} held the operator's own database URI, copied there by an "
            "earlier version; it now holds the worker URI the operator was given "
            f"(worker.database.*). {rotate}"
        )
    else:
        rt.kube.patch_secret(namespace, name, {"data": {SECRET_DSN_KEY: None}})
        where = (
            f"the Secret {wanted.secret!r}"
            if wanted.secret
            else "nothing yet: name a Secret of this namespace holding a worker role's URI in "
            "spec.databaseSecret, or install the chart with worker.database.* set"
        )
        reason = "OperatorCredentialsRemoved"
        message = (
            f"The Secret {name!r} held the operator's own database URI, copied there by an "
            f"earlier version; that key is removed. Worker pods now read theirs from {where}. "
            f"{rotate}"
        )
    rt.kube.post_event(ledger, type="Warning", reason=reason, message=message)


def _signing_key(rt: Runtime, ledger: dict[str, Any], conn: Connection) -> Ed25519PrivateKey:
    """The Ledger's signing key: read from its Secret, generated on first use when
    the Secret has the default name and the database holds no head of this ledger
    (else it was lost: restore it or rotate). Raises what the database raises."""
    namespace = ledger["metadata"]["namespace"]
    secret_name = signing_key_secret_name(ledger)
    found = rt.kube.read_secret_object(namespace, secret_name)
    if found is None and generates_signing_key(ledger):
        _refuse_if_heads_exist(rt, ledger, conn, secret_name)
        key = generate_private_key()
        manifest = signing_key_secret(
            ledger,
            private_key_to_pem(key).decode("ascii"),
            public_key_to_pem(key.public_key()).decode("ascii"),
            key_id(key.public_key()),
        )
        if rt.kube.create_secret(manifest):
            return key
        found = rt.kube.read_secret_object(namespace, secret_name)  # another replica was first
    if found is None:
        _not_ready(
            rt,
            ledger,
            "SigningKeyMissing",
            f"The Secret {secret_name!r} named in spec.signingKeySecret does not exist in "
            f"namespace {namespace!r}; create it with an Ed25519 PEM key under "
            f"{SECRET_PRIVATE_KEY!r}.",
        )
    if found.owner_uids and made_by_operator(found.labels, ledger):
        # Made by an earlier version, owned by the Ledger: the key must outlive it.
        rt.kube.patch_secret(namespace, secret_name, {"metadata": {"ownerReferences": None}})
    try:
        return load_private_key_pem(found.data.get(SECRET_PRIVATE_KEY, "").encode("utf-8"))
    except KeyFormatError as exc:
        _not_ready(
            rt,
            ledger,
            "SigningKeyInvalid",
            f"The Secret {secret_name!r} does not hold a usable signing key under "
            f"{SECRET_PRIVATE_KEY!r} ({exc}); store an unencrypted Ed25519 PKCS #8 PEM key.",
        )


def _refuse_if_heads_exist(
    rt: Runtime, ledger: dict[str, Any], conn: Connection, secret_name: str
) -> None:
    """A new key for a ledger the database already holds heads of would silently
    start a second key: refuse, and say how to restore or rotate."""
    ref = ledger_ref(ledger)
    try:
        head = latest_tree_head(conn, ref)
    except UnknownLedgerError:
        return
    if head is not None:
        _not_ready(
            rt,
            ledger,
            "SigningKeyLost",
            f"The Secret {secret_name!r} with the signing key is missing, but the database "
            f"holds {ref}'s tree heads signed by key {head.key_id[:16]}…; restore the Secret "
            "from its backup, or rotate: put a new key in a Secret and name it in "
            "spec.signingKeySecret (charts/guestbook-ledger/README.md, signing keys).",
        )

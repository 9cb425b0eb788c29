-- Ledger store, version 1: ledgers, their signing keys, entries, stored Merkle tree
-- nodes and signed tree heads. The database itself keeps the ledger append-only:
-- triggers reject UPDATE, DELETE and TRUNCATE of everything that is part of the
-- ledger's history (see docs/decisions/0010-stored-tree-nodes.md and 0013-append-only-in-the-database.md).

CREATE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TABLE ledgers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace  text NOT NULL,
    name       text NOT NULL,
    -- The sequencer: admission takes this row's lock, so sequence numbers are
    -- gapless and commit in order within a ledger.
    next_seq   bigint NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

CREATE FUNCTION ledgers_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the ledger is append-only: ledger %/% cannot be deleted',
            OLD.namespace, OLD.name
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.id, NEW.namespace, NEW.name, NEW.created_at)
            IS DISTINCT FROM (OLD.id, OLD.namespace, OLD.name, OLD.created_at)
        OR NEW.next_seq < OLD.next_seq THEN
        RAISE EXCEPTION 'the ledger is append-only: only the sequence counter of ledger %/% may advance',
            OLD.namespace, OLD.name
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledgers_append_only BEFORE UPDATE OR DELETE ON ledgers
    FOR EACH ROW EXECUTE FUNCTION ledgers_guard();
CREATE TRIGGER ledgers_no_truncate BEFORE TRUNCATE ON ledgers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- Every key that ever signed a tree head of the ledger, so old heads stay verifiable
-- after a key rotation.
CREATE TABLE ledger_keys (
    ledger_id  bigint NOT NULL REFERENCES ledgers (id),
    key_id     bytea NOT NULL CHECK (octet_length(key_id) = 32),
    public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ledger_id, key_id)
);

CREATE TRIGGER ledger_keys_append_only BEFORE UPDATE OR DELETE ON ledger_keys
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_keys_no_truncate BEFORE TRUNCATE ON ledger_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE TABLE entries (
    ledger_id    bigint NOT NULL REFERENCES ledgers (id),
    seq          bigint NOT NULL CHECK (seq >= 0),
    uid          text NOT NULL,
    entry_name   text NOT NULL,
    author       text NOT NULL,
    message      text NOT NULL,
    submitted_at text NOT NULL,
    -- The canonical record (ledger format v1) exactly as hashed.
    record       bytea NOT NULL,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sealed', 'withdrawn')),
    leaf_hash    bytea CHECK (octet_length(leaf_hash) = 32),
    leaf_index   bigint CHECK (leaf_index >= 0),
    admitted_at  timestamptz NOT NULL DEFAULT now(),
    sealed_at    timestamptz,
    PRIMARY KEY (ledger_id, seq),
    UNIQUE (ledger_id, uid),
    UNIQUE (ledger_id, leaf_index),
    CHECK ((state = 'sealed') = (leaf_index IS NOT NULL)),
    CHECK ((state = 'sealed') = (sealed_at IS NOT NULL)),
    CHECK (state <> 'sealed' OR leaf_hash IS NOT NULL)
);

-- The queue of work: pending entries in sequence order.
CREATE INDEX entries_pending ON entries (ledger_id, seq) WHERE state = 'pending';
-- What hashing workers claim: pending entries without a leaf hash yet.
CREATE INDEX entries_unhashed ON entries (ledger_id, seq)
    WHERE state = 'pending' AND leaf_hash IS NULL;

CREATE FUNCTION entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the ledger is append-only: entry % (uid %) cannot be deleted; withdraw a pending entry instead',
            OLD.entry_name, OLD.uid
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.state <> 'pending' THEN
        RAISE EXCEPTION 'the ledger is append-only: entry % (uid %) is % and never changes',
            OLD.entry_name, OLD.uid, OLD.state
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.ledger_id, NEW.seq, NEW.uid, NEW.entry_name, NEW.author, NEW.message,
            NEW.submitted_at, NEW.record, NEW.admitted_at)
        IS DISTINCT FROM (OLD.ledger_id, OLD.seq, OLD.uid, OLD.entry_name, OLD.author,
            OLD.message, OLD.submitted_at, OLD.record, OLD.admitted_at)
        OR (OLD.leaf_hash IS NOT NULL AND NEW.leaf_hash IS DISTINCT FROM OLD.leaf_hash) THEN
        RAISE EXCEPTION 'the ledger is append-only: the content and leaf hash of entry % (uid %) never change',
            OLD.entry_name, OLD.uid
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_guard();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- Perfect, aligned subtrees of the Merkle tree: node (level, node_index) is the
-- root of leaves [node_index * 2^level, (node_index + 1) * 2^level). Level 0 is not
-- stored here: leaf hashes live in entries (by leaf_index). Once a subtree is
-- complete its hash never changes, so any proof at any tree size reads O(log n)
-- of these rows.
CREATE TABLE tree_nodes (
    ledger_id  bigint NOT NULL REFERENCES ledgers (id),
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
    node_index bigint NOT NULL CHECK (node_index >= 0),
    hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (ledger_id, level, node_index)
);

CREATE TRIGGER tree_nodes_append_only BEFORE UPDATE OR DELETE ON tree_nodes
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER tree_nodes_no_truncate BEFORE TRUNCATE ON tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- Signed tree heads, one per tree size; the timestamp is kept exactly as signed.
CREATE TABLE tree_heads (
    ledger_id  bigint NOT NULL REFERENCES ledgers (id),
    tree_size  bigint NOT NULL CHECK (tree_size >= 0),
    root_hash  bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    signed_at  text NOT NULL,
    key_id     bytea NOT NULL,
    signature  bytea NOT NULL CHECK (octet_length(signature) = 64),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ledger_id, tree_size),
    FOREIGN KEY (ledger_id, key_id) REFERENCES ledger_keys (ledger_id, key_id)
);

CREATE TRIGGER tree_heads_append_only BEFORE UPDATE OR DELETE ON tree_heads
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER tree_heads_no_truncate BEFORE TRUNCATE ON tree_heads
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

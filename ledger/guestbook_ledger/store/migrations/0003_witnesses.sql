-- Ledger store, version 3: witness policies and cosignatures (C2SP tlog-witness,
-- tlog-cosignature; see docs/decisions/0086-witness-cosigning.md).
--
-- A ledger's witness policy is versioned, never changed in place: the newest
-- version applies, the older ones say what applied when. Cosignatures are kept
-- per tree head, witness name and key ID, exactly as received (the 72 bytes of
-- timestamp and Ed25519 signature); both tables are append-only.

CREATE TABLE witness_policies (
    ledger_id  bigint NOT NULL REFERENCES ledgers (id),
    version    integer NOT NULL CHECK (version >= 1),
    quorum     integer NOT NULL CHECK (quorum >= 0),
    -- [{"name": ..., "verifierKey": ..., "url": ...}, ...]
    witnesses  jsonb NOT NULL CHECK (jsonb_typeof(witnesses) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ledger_id, version),
    CHECK (quorum <= jsonb_array_length(witnesses))
);

CREATE TRIGGER witness_policies_append_only BEFORE UPDATE OR DELETE ON witness_policies
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER witness_policies_no_truncate BEFORE TRUNCATE ON witness_policies
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE TABLE cosignatures (
    ledger_id   bigint NOT NULL,
    tree_size   bigint NOT NULL,
    witness     text NOT NULL,
    key_id      bytea NOT NULL CHECK (octet_length(key_id) = 4),
    signature   bytea NOT NULL CHECK (octet_length(signature) = 72),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ledger_id, tree_size, witness, key_id),
    FOREIGN KEY (ledger_id, tree_size) REFERENCES tree_heads (ledger_id, tree_size)
);

-- What each witness last cosigned: the old size of the next add-checkpoint.
CREATE INDEX cosignatures_by_witness ON cosignatures (ledger_id, witness, key_id, tree_size);

CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON cosignatures
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- Ledger store, version 2: tree heads become C2SP checkpoints (see
-- docs/decisions/0084-checkpoints-and-v1-tree-heads.md).
--
-- Every ledger gets an origin, fixed once set: the checkpoint's first line and the
-- name of its signing key. Existing ledgers get the default origin, which
-- guestbook_ledger.format.checkpoint.default_origin computes the same way.
--
-- tree_heads keeps one row per tree size and says in `format` how it was signed:
-- 'sth-json-v1' rows (every row before this migration) are ledger format v1's
-- JSON tree heads and verify as before; 'checkpoint' rows are signed notes over
-- the checkpoint text of `origin`, `tree_size` and `root_hash`, with the 4-byte
-- note key ID in `note_key_id`. `signed_at` stays the time of signing (for
-- checkpoints it is not part of what is signed).

ALTER TABLE ledgers ADD COLUMN origin text;
UPDATE ledgers SET origin = 'ledger.guestbook.io/' || namespace || '/' || name;
ALTER TABLE ledgers ALTER COLUMN origin SET NOT NULL;
ALTER TABLE ledgers ADD CONSTRAINT ledgers_origin_form
    CHECK (origin <> '' AND origin !~ '[[:space:]+[:cntrl:]]' AND length(origin) <= 512);

CREATE OR REPLACE FUNCTION ledgers_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the ledger is append-only: ledger %/% cannot be deleted',
            OLD.namespace, OLD.name
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.id, NEW.namespace, NEW.name, NEW.created_at, NEW.origin)
            IS DISTINCT FROM (OLD.id, OLD.namespace, OLD.name, OLD.created_at, OLD.origin)
        OR NEW.next_seq < OLD.next_seq THEN
        RAISE EXCEPTION 'the ledger is append-only: only the sequence counter of ledger %/% may advance',
            OLD.namespace, OLD.name
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE tree_heads ADD COLUMN format text NOT NULL DEFAULT 'sth-json-v1'
    CHECK (format IN ('sth-json-v1', 'checkpoint'));
-- New rows say their format explicitly.
ALTER TABLE tree_heads ALTER COLUMN format DROP DEFAULT;
ALTER TABLE tree_heads ADD COLUMN origin text;
ALTER TABLE tree_heads ADD COLUMN note_key_id bytea CHECK (octet_length(note_key_id) = 4);
ALTER TABLE tree_heads ADD CONSTRAINT tree_heads_checkpoint_fields
    CHECK ((format = 'checkpoint') = (origin IS NOT NULL AND note_key_id IS NOT NULL));

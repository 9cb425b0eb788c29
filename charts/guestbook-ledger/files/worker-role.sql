-- The grants of guestbook_worker, the database role of worker and audit pods:
-- only what they do (decision 0130).
--
-- Workers read the ledger, claim and hash pending entries, seal them (set an
-- entry's state, leaf index, leaf hash and seal time; the database refuses any
-- other change, and any change of a sealed entry), and add tree nodes, signed
-- tree heads and witness cosignatures. Audit pods only read. Neither changes the
-- schema (the operator migrates it), admits or withdraws entries, registers
-- keys, or changes a ledger's origin or witness policy.
--
-- As the owner of the ledger tables, once the operator has started (it creates
-- them):
--   psql "$OPERATOR_DSN" -c "CREATE ROLE guestbook_worker LOGIN PASSWORD '$(openssl rand -hex 24)'"
--   psql "$OPERATOR_DSN" -f worker-role.sql
-- (a database that revokes CONNECT from PUBLIC also needs
--  GRANT CONNECT ON DATABASE <db> TO guestbook_worker), then give the workers
-- postgresql://guestbook_worker:PASSWORD@HOST:5432/DB: chart value
-- worker.database.dsn, or a Secret in each Ledger namespace. A migration that
-- adds a table the workers use says so; run this file again then.

GRANT USAGE ON SCHEMA public TO guestbook_worker;
GRANT SELECT ON schema_migrations, ledgers, ledger_keys, entries, tree_nodes, tree_heads,
    witness_policies, cosignatures TO guestbook_worker;
GRANT UPDATE (state, leaf_index, leaf_hash, sealed_at) ON entries TO guestbook_worker;
GRANT INSERT ON tree_nodes, tree_heads, cosignatures TO guestbook_worker;

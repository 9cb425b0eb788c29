"""A C2SP tlog-witness anyone can run beside or far from a ledger: `guestbook-ledger witness`.

It holds its own Ed25519 key (``cosignature/v1``) and its own SQLite store of,
for each log it witnesses, the latest checkpoint it cosigned. It cosigns a
submitted checkpoint only after the log's signature verifies and the RFC 9162
consistency proof from the size it holds does, so it never cosigns two views
of one log (decisions 0100–0104).

Modules: `logs` (which logs, by origin and note verifier key), `identity` (the
witness's name and key), `state` (the store), `request` (the add-checkpoint
body), `cosigning` (the protocol's checks and answers), `server` (HTTP),
`cli` (the subcommand).
"""

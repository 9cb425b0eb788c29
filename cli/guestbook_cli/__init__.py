"""The `guestbook-ledger` command: the one entry point, above every component.

``dispatch`` lists every subcommand and imports a component's command module
only when that command runs; ``verify``, ``audit`` and ``monitor`` are the
ledger's own commands (offline verification, a stored ledger's audit, a
monitor following tiles). No component imports this package (decision 0141).
"""

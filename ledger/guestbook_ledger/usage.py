"""The one error a command raises for malformed input.

Every component's command module raises it (a flag out of range, a folder
that holds no witness, peering CRDs not installed); the `guestbook-ledger`
dispatcher (guestbook_cli.dispatch) turns it into exit status 2 and the
message. It lives here, below every component, so that a component's command
module never imports the CLI package above it (decision 0142).
"""


class UsageError(Exception):
    """Malformed input: the command exits with status 2 and this message."""

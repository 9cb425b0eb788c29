"""The web UI's read-only database role, made by the chart's hook Job on the real cluster.

Installed with only `database.dsn` (what most installs give), the release's
post-install Job runs on the process kubelet in the operator image and creates
role `guestbook_webui` with the operator's URI; the web UI's Deployment
connects with the URI of that role. That role reads the ledger and can change
nothing; an upgrade keeps its password and runs the Job again.
"""

from __future__ import annotations

import base64
import json

import psycopg2
import pytest
from chart_release import RELEASE, Release
from psycopg2 import errors

pytestmark = pytest.mark.timeout(600)


def webui_dsn(release: Release) -> str:
    """The URI the web UI's Deployment connects with (from the Secret its env names)."""
    deployment = json.loads(release.kubectl("get", "deployment", f"{RELEASE}-webui", "-o", "json"))
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    ref = next(e for e in env if e["name"] == "GUESTBOOK_DSN")["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{RELEASE}-webui-database", "key": "dsn"}
    secret = json.loads(release.kubectl("get", "secret", ref["name"], "-o", "json"))
    return base64.b64decode(secret["data"][ref["key"]]).decode()


def test_the_web_ui_reads_as_a_role_that_cannot_write(release: Release) -> None:
    release.install({"webui": {"enabled": True}, "ledger": {"create": True}})
    dsn = webui_dsn(release)
    assert dsn.startswith("postgresql://guestbook_webui:")

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM entries")
            assert cur.fetchone() == (0,)
            cur.execute("SELECT current_user, current_setting('default_transaction_read_only')")
            assert cur.fetchone() == ("guestbook_webui", "on")
            with pytest.raises(errors.ReadOnlySqlTransaction):
                cur.execute("DELETE FROM tree_heads")
            # Even in a read-write transaction the role has no right to write.
            cur.execute("SET default_transaction_read_only = off")
            with pytest.raises(errors.InsufficientPrivilege):
                cur.execute("DELETE FROM tree_heads")
    finally:
        conn.close()

    # An upgrade keeps the role's password (the running web UI keeps working).
    release.install({"webui": {"replicas": 1}})
    assert webui_dsn(release) == dsn
    psycopg2.connect(dsn).close()

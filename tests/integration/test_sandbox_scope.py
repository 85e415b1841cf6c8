"""``--sandbox`` with documents cfql does not ship: found by provider name, and honest about its reach.

``tests/data/published_like`` holds a Cloudflare document shaped like StackQL's
published one (no ``x-cfql-config``): the sandbox comes from the ``cfql.sandboxes``
entry point, serves the meetings method, and refuses the livestream one up front,
saying what it does serve.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cfql import connect
from cfql.errors import NotSupportedError
from cfql.provider.cloudflare.emulator.api import SERVED_ROUTES
from cfql.provider.registry import Registry

PUBLISHED_LIKE = Path(__file__).resolve().parents[1] / "data" / "published_like"
STOP = (
    "EXEC cloudflare.realtime_kit.livestreams.stop_livestreaming_a_meeting "
    "@account_id = 'sandbox-account', @app_id = 'sandbox-app', @meeting_id = 'm1'"
)


def test_a_published_document_gets_the_sandbox_its_provider_name_has() -> None:
    with connect(sandbox=True, registry=str(PUBLISHED_LIKE)) as conn:
        rows = conn.execute(
            "INSERT INTO cloudflare.realtime_kit.meetings (account_id, app_id, title) "
            "SELECT 'sandbox-account', 'sandbox-app', 'Standup' RETURNING json_extract(data, '$.title') AS title, success"
        )
    assert rows == [{"title": "Standup", "success": True}]


def test_a_method_the_emulator_does_not_serve_is_refused_naming_what_it_serves() -> None:
    with connect(sandbox=True, registry=str(PUBLISHED_LIKE)) as conn, pytest.raises(NotSupportedError) as raised:
        conn.execute(STOP)
    message = str(raised.value)
    assert "cloudflare.realtime_kit.livestreams.stop_livestreaming_a_meeting" in message
    assert "is not in the cloudflare sandbox, which serves RealtimeKit meetings" in message


def test_the_cli_refuses_it_in_one_line_before_sending() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cfql", "exec", "--sandbox", "--registry", str(PUBLISHED_LIKE), STOP],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "not in the cloudflare sandbox" in line and "0 of 1 statements ran" in line


def test_the_emulator_serves_every_method_of_the_shipped_provider() -> None:
    """SERVED_ROUTES is what the refusal trusts: it must cover every shipped method, or --sandbox would refuse one."""
    provider = Registry().provider("cloudflare")
    assert provider is not None
    sandbox_scope = []
    for service in provider.services.values():
        for resource in service.resources.values():
            for method in resource.methods.values():
                sandbox_scope.append((method.http_method, re.sub(r"\{[^}]*\}", "{}", method.path)))
    assert sandbox_scope and set(sandbox_scope) <= SERVED_ROUTES

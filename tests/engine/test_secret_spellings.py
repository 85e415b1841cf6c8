"""A provider may name a secret body field by its API name (``passphrase``) or by its SQL name
(``data__passphrase``, StackQL's default for a body property): either way it is masked wherever cfql
shows it — the statement echoed, a dry run's body, EXPLAIN's values and body. A provider written here."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cfql import Connection, Settings

from tests.providers import write_provider

from .conftest import no_requests

SERVICE = """\
    openapi: 3.0.3
    info: {title: Safes, version: v1}
    servers: [{url: https://safes.test}]
    paths:
      /safes:
        post:
          operationId: create_safe
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    name: {type: string}
                    passphrase: {type: string}
                    api_key: {type: string}
          responses: {'201': {description: made}}
    components:
      x-stackQL-resources:
        safes:
          id: safes.safes.safes
          name: safes
          title: Safes
          methods:
            create_safe:
              operation: {$ref: '#/paths/~1safes/post'}
              request: {mediaType: application/json}
              response: {openAPIDocKey: '201'}
          sqlVerbs:
            insert: [{$ref: '#/components/x-stackQL-resources/safes/methods/create_safe'}]
    """


@pytest.mark.parametrize(
    ("secret_fields", "column"),
    [
        ("x-cfql-config:\n  secretFields: [passphrase]\n", "data__passphrase"),  # the API's name
        ("x-cfql-config:\n  secretFields: [data__passphrase]\n", "data__passphrase"),  # the SQL name
        ("", "data__api_key"),  # cfql's default secret names are API names
    ],
)
def test_a_secret_field_is_masked_whichever_name_declares_it(tmp_path: Path, secret_fields: str, column: str) -> None:
    registry = str(write_provider(tmp_path, "safes", "safes", SERVICE, secret_fields))
    sql = f"INSERT INTO safes.safes.safes (data__name, {column}) VALUES ('n', 'SECRET-VALUE-1')"
    client = httpx.Client(transport=httpx.MockTransport(no_requests))
    with Connection(Settings(token="t", dry_run=True), http_client=client, registry=registry) as conn:
        shown = conn.run(sql)
        explained = conn.run("EXPLAIN " + sql)
    assert "SECRET-VALUE-1" not in shown.statement and "SECRET-VALUE-1" not in str(shown.rows)
    assert shown.rows[0]["body"][column.removeprefix("data__")] == "***"
    assert "SECRET-VALUE-1" not in str(explained.rows) and "SECRET-VALUE-1" not in explained.statement

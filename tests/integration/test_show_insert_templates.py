"""Every template SHOW INSERT INTO writes for the shipped provider runs against the emulator over loopback.

For each insert method of each shipped resource — plain, EXTENDED and
/*+ REQUIRED */ — the template is filled with example values of each column's
type (derived from its schema: text, a boolean, a number inside its bounds, a
JSON object with every documented property, the first allowed value of an
enum) by cfql's own templating, and run: the request must reach the emulator,
succeed, and give back the RETURNING row. A path parameter that must name
something that exists (a meeting, a participant) takes the id an earlier
template's RETURNING gave. Once through the library, once through the
``cfql exec`` command (the template written to a file, the values to an
``--iqldata`` file).

The helpers at the top (``parts``, ``example``, ``variables``) read a template
the way a person does, line by line, and are shared with the unit tests in
tests/engine/test_meta_statements.py.
"""

from __future__ import annotations

import json
import re
import typing as t
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cfql import connect
from cfql.cli.main import main
from cfql.plan.resolver import find_provider, resources_of
from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator
from cfql.provider.model import Method, Resource
from cfql.provider.registry import Registry, default_registry

PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")
VARIANTS = {"plain": "SHOW INSERT INTO {}", "extended": "SHOW EXTENDED INSERT INTO {}", "required": "SHOW INSERT INTO {} /*+ REQUIRED */"}
#: Example text of the string formats the documents use, where any text would not do.
FORMATS = {"uri": "https://example.com/{name}", "date-time": "2026-01-31T09:30:00Z", "date": "2026-01-31", "email": "{name}@example.com", "uuid": "00000000-0000-4000-8000-000000000000"}
#: Which id a method's RETURNING row gives (``data.id``), for the templates whose path must name it.
ID_FROM = {"create": "meeting_id", "add_participant": "participant_id"}


# --------------------------------------------------------------------------
# Reading and filling a template (shared with the unit tests)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    """A template cut at its lines: the INSERT's columns, the value line of each, and RETURNING's names."""

    target: str
    columns: list[str]
    values: list[str]
    returning: list[str]

    def placeholder(self, column: str) -> str:
        (name,) = PLACEHOLDER.findall(self.values[self.columns.index(column)])
        return name


def parts(template: str) -> Parts:
    lines = template.split("\n")
    assert lines[0].startswith("INSERT INTO ") and lines[0].endswith(" (") and lines[-1] == ";", template
    close, select = lines.index(")"), lines.index("SELECT")
    assert select == close + 1, template
    end = lines.index("RETURNING") if "RETURNING" in lines else len(lines) - 1
    columns = [_unquoted(line) for line in _listed(lines[1:close])]
    values = _listed(lines[select + 1 : end])
    returning = [_unquoted(line) for line in _listed(lines[end + 1 : -1])]
    assert len(values) == len(columns), template
    return Parts(lines[0][len("INSERT INTO ") : -2], columns, values, returning)


def _listed(lines: list[str]) -> list[str]:
    """The items of one list, one a line: a comma ends every line but the last."""
    for i, line in enumerate(lines):
        assert line.endswith(",") == (i < len(lines) - 1), lines
    return [line.removesuffix(",") for line in lines]


def _unquoted(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def example(schema: t.Mapping[str, t.Any], name: str) -> t.Any:
    """A value ``schema`` accepts: the first enum value, the first alternative, every property of an object."""
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return example(schema[key][0], name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: example(sub, key) for key, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example(schema.get("items") or {}, name)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return FORMATS.get(schema.get("format"), f"example-{name}").format(name=name)


def variables(template: str, method: Method, known: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A value for every placeholder of ``template``: from ``known`` (ids), else an example of its column's schema."""
    cut = parts(template)
    return {
        cut.placeholder(column): known[column] if column in known else example(method.fields[column].schema, column)
        for column in cut.columns
    }


def insert_resources(registry: Registry) -> list[Resource]:
    """Every resource of ``registry`` with insert methods."""
    found = []
    for provider_name in registry.provider_names:
        for service in find_provider(registry, provider_name).services.values():
            found += [r for r in resources_of(service, provider_name).values() if r.methods_for("insert")]
    return found


# --------------------------------------------------------------------------
# Against the emulator
# --------------------------------------------------------------------------


SHIPPED = insert_resources(default_registry())


def test_the_shipped_provider_has_templates_to_run() -> None:
    assert "cloudflare.realtime_kit.meetings" in [r.id for r in SHIPPED]


def run_all(resource: Resource, variant: str, run: t.Callable[[str, dict[str, t.Any]], list[dict[str, t.Any]]],
            show: t.Callable[[str], list[dict[str, t.Any]]], emulator: Emulator) -> dict[str, dict[str, t.Any]]:
    """Run every insert template of ``resource``, each once the ids its path needs are known; the RETURNING rows."""
    ids: dict[str, t.Any] = {"account_id": "acct-" + uuid.uuid4().hex[:8], "app_id": "app-" + uuid.uuid4().hex[:8]}
    templates = {row["method"]: row["template"] for row in show(VARIANTS[variant].format(resource.id))}
    assert list(templates) == list(resource.sql_verbs["insert"])
    returned: dict[str, dict[str, t.Any]] = {}
    waiting = list(templates)
    while waiting:
        ready = [m for m in waiting if all(p in ids for p in resource.methods[m].parameters if resource.methods[m].parameters[p].location == "path")]
        assert ready, f"no template can run yet: {waiting} need path ids that no earlier RETURNING gave ({sorted(ids)})"
        for name in ready:
            method = resource.methods[name]
            before = len(emulator.requests)
            (row,) = run(templates[name], variables(templates[name], method, ids))
            sent = emulator.requests[before:]
            path = urlsplit(emulator.url).path + method.path.format_map(_path_values(method, ids))
            assert sent == [(method.http_method.upper(), path)]
            assert set(row) == set(parts(templates[name]).returning) and row["success"] is True, row
            returned[name] = row
            if name in ID_FROM:
                ids[ID_FROM[name]] = row["data"]["id"]
            waiting.remove(name)
    return returned


def _path_values(method: Method, ids: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {name: ids[name] for name, field in method.parameters.items() if field.location == "path"}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("resource", SHIPPED, ids=lambda r: r.id)
def test_every_template_runs_through_the_library(resource: Resource, variant: str, emulator: Emulator) -> None:
    with connect(token=SANDBOX_TOKEN, base_url=emulator.url) as conn:
        def run(template: str, values: dict[str, t.Any]) -> list[dict[str, t.Any]]:
            (result,) = conn.executescript(template, variables=values)
            return result.rows

        def show(sql: str) -> list[dict[str, t.Any]]:
            before = len(emulator.requests)
            rows = conn.execute(sql)
            assert len(emulator.requests) == before, "SHOW INSERT INTO sent a request"
            return rows

        returned = run_all(resource, variant, run, show, emulator)
    if resource.id == "cloudflare.realtime_kit.meetings":
        created = returned["create"]["data"]
        if variant != "required":  # every documented column was sent, and the emulator kept it
            assert created["title"] == "example-title" and created["persist_chat"] is True
            assert created["ai_config"]["summarization"]["summary_type"] == "general"
        participant = returned["add_participant"]["data"]
        assert participant["custom_participant_id"] == "example-custom_participant_id"
        assert returned["refresh_participant_token"]["data"]["token"] != participant["token"]


@pytest.mark.parametrize("resource", SHIPPED, ids=lambda r: r.id)
def test_every_template_runs_through_cfql_exec(
    resource: Resource, emulator: Emulator, api: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> list[dict[str, t.Any]]:
        code = main(["exec", *api, "-o", "json", *args])
        out, err = capsys.readouterr()
        assert code == 0 and err == "", err
        return json.loads(out) if out.strip() else []

    def run(template: str, values: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        script, data = tmp_path / "insert.iql", tmp_path / "values.json"
        script.write_text(template, encoding="utf-8")
        data.write_text(json.dumps(values), encoding="utf-8")
        return cli("-i", str(script), "--iqldata", str(data))

    returned = run_all(resource, "extended", run, lambda sql: cli(sql), emulator)
    assert all(row["success"] is True for row in returned.values())

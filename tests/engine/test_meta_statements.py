"""SHOW INSERT INTO, DESCRIBE METHOD, SHOW VERSION and LIKE/WHERE on every SHOW: answered from the documents.

Every connection here has a transport that fails the test on any request, so
each statement is shown to send nothing; each is answered when it is planned
(a ``StaticPlan``), so a wrong target fails before a script runs anything.
Templates are checked against the reference page's examples
(tests/data/meetings-reference-examples.sql), and every template of every
insert method of the shipped provider and of the test registries is rendered
with example values by cfql's templating and planned — its requests built,
not sent. tests/integration/test_show_insert_templates.py runs them against
the emulator.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import typing as t
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from cfql import Connection, NotSupportedError, ProgrammingError, ResolutionError, Settings
from cfql.plan.insert_templates import placeholder_names, sql_name, template
from cfql.plan.method_io import describe_method_io
from cfql.plan.plans import CallPlan, StaticPlan
from cfql.plan.resolver import find_resource, resolve
from cfql.provider.model import Field, Method, Resource
from cfql.provider.registry import Registry, default_registry
from cfql.script.templates import render
from cfql.sql.dialect import parse_statement
from tests.integration.test_reference_examples import EXAMPLES
from tests.integration.test_show_insert_templates import example, insert_resources, parts, variables

from .conftest import no_requests

DATA = Path(__file__).resolve().parents[1] / "data"
MEETINGS = "cloudflare.realtime_kit.meetings"
STACKS = "kitchen.sink.stacks"
RECORDS = "zonely.dns.records"
REGISTRIES = {"shipped": None, "registry": DATA / "registry", "registry_meta": DATA / "registry_meta", "published_like": DATA / "published_like"}
VARIANTS = {"plain": "SHOW INSERT INTO {}", "extended": "SHOW EXTENDED INSERT INTO {}", "required": "SHOW INSERT INTO {} /*+ REQUIRED */"}
BARE = ("boolean", "integer", "number")


def _connection(registry: Registry) -> Connection:
    return Connection(Settings(token="t"), http_client=httpx.Client(transport=httpx.MockTransport(no_requests)), registry=registry)


def _registry(name: str) -> Registry:
    root = REGISTRIES[name]
    return default_registry() if root is None else Registry(root)


@pytest.fixture
def shipped() -> t.Iterator[Connection]:
    with _connection(default_registry()) as connection:
        yield connection


@pytest.fixture
def kitchen() -> t.Iterator[Connection]:
    with _connection(Registry(DATA / "registry")) as connection:
        yield connection


@pytest.fixture
def zonely() -> t.Iterator[Connection]:
    with _connection(Registry(DATA / "registry_meta")) as connection:
        yield connection


def _resource(conn: Connection, name: str) -> Resource:
    return find_resource(conn.registry, name.split("."))


def _templates(conn: Connection, sql: str) -> dict[str, str]:
    return {row["method"]: row["template"] for row in conn.run(sql).rows}


def _insert_methods() -> list[tuple[str, str, str]]:
    """(registry, resource id, method) of every insert method cfql can drive, in every registry used here."""
    found = []
    for name in REGISTRIES:
        for resource in insert_resources(_registry(name)):
            found += [(name, resource.id, m.name) for m in resource.methods_for("insert") if not m.unsupported]
    return found


INSERT_METHODS = _insert_methods()


def _method(**kwargs: t.Any) -> Method:
    """A method written here, for what no document of the suite has (odd descriptions, secret defaults)."""
    base: dict[str, t.Any] = dict(
        name="make", resource_id=MEETINGS, sql_verb="insert", http_method="POST", path="/x", base_url="http://x",
        parameters={}, body_fields={}, has_body=True, response_schema={"type": "object", "properties": {"id": {"type": "string"}}},
    )
    return Method(**{**base, **kwargs})


# --------------------------------------------------------------------------
# SHOW INSERT INTO
# --------------------------------------------------------------------------


def test_one_template_per_insert_method_in_the_documents_order(shipped: Connection) -> None:
    result = shipped.run(f"SHOW INSERT INTO {MEETINGS}")
    assert result.columns == ["method", "template"]
    methods = [row["method"] for row in result.rows]
    assert methods == list(_resource(shipped, MEETINGS).sql_verbs["insert"])
    page = [name for name, sql in EXAMPLES.items() if sql.startswith("INSERT")]
    assert methods == page  # the reference page lists them in the same order


@pytest.mark.parametrize("name", [name for name, sql in EXAMPLES.items() if sql.startswith("INSERT")])
def test_templates_are_the_reference_pages_with_every_required_column_marked(shipped: Connection, name: str) -> None:
    method = _resource(shipped, MEETINGS).methods[name]
    ours, page = parts(_templates(shipped, f"SHOW INSERT INTO {MEETINGS}")[name]), parts(EXAMPLES[name])
    assert (ours.target, ours.returning) == (page.target, page.returning)
    assert [c for c in ours.columns if c in page.columns] == page.columns
    extra = [c for c in ours.columns if c not in page.columns]  # documented since the page was written (from the SDK)
    assert all(method.fields[c].location == "body" for c in extra), extra
    for column, line in zip(page.columns, page.values):
        marked = line if "/* required */" in line or not method.fields[column].required else line + " /* required */"
        assert ours.values[ours.columns.index(column)] == marked, column


@pytest.mark.parametrize("variant", ["plain", "extended"])
@pytest.mark.parametrize(("registry", "resource_id", "name"), INSERT_METHODS)
def test_every_column_is_marked_as_required_or_not_and_typed(registry: str, resource_id: str, name: str, variant: str) -> None:
    with _connection(_registry(registry)) as conn:
        method = _resource(conn, resource_id).methods[name]
        cut = parts(_templates(conn, VARIANTS[variant].format(resource_id))[name])
    assert sorted(cut.columns) == sorted(method.fields)
    body = [c for c in cut.columns if method.fields[c].location == "body"]
    assert cut.columns[: len(body)] == sorted(body)  # body properties first, by name, then the parameters
    for column, line in zip(cut.columns, cut.values):
        field = method.fields[column]
        assert ("/* required */" in line) == field.required, line
        value = line.split(" /*")[0]
        quoted = field.schema.get("type") not in BARE
        assert value == (f"'{{{{ {cut.placeholder(column)} }}}}'" if quoted else f"{{{{ {cut.placeholder(column)} }}}}"), line
    assert cut.returning == sorted(method.row_schema.get("properties") or {})


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("registry", "resource_id", "name"), INSERT_METHODS)
def test_every_template_filled_by_cfqls_templating_plans_to_its_own_method(
    registry: str, resource_id: str, name: str, variant: str
) -> None:
    with _connection(_registry(registry)) as conn:
        method = _resource(conn, resource_id).methods[name]
        text = _templates(conn, VARIANTS[variant].format(resource_id))[name]
        values = variables(text, method, {})
        plan = conn.plans.get(render(text, values))
        assert isinstance(plan, CallPlan) and plan.method is method
        cut = parts(text)
        assert plan.rows[0].constants == {c: values[cut.placeholder(c)] for c in cut.columns}
        (request,) = plan.requests()  # built, not sent: the transport fails any request
        assert request.http_method == method.http_method
        assert plan.projection is not None and list(plan.projection.names) == cut.returning


def test_required_keeps_the_required_columns_only(shipped: Connection) -> None:
    resource = _resource(shipped, MEETINGS)
    required = _templates(shipped, f"SHOW INSERT INTO {MEETINGS} /*+ REQUIRED */")
    for name, text in required.items():
        cut = parts(text)
        assert sorted(cut.columns) == sorted(resource.methods[name].required_names)
        assert all(line.endswith("/* required */") for line in cut.values)
    assert parts(required["create"]).columns == ["account_id", "app_id"]


def test_extended_comments_give_the_description_and_the_allowed_values(kitchen: Connection, shipped: Connection) -> None:
    widgets = _resource(kitchen, "acme.widgets.widgets").methods["create_widget"]
    cut = parts(_templates(kitchen, "SHOW EXTENDED INSERT INTO acme.widgets.widgets")["create_widget"])
    color = cut.values[cut.columns.index("color")]
    assert color.endswith("/* " + "; ".join(filter(None, [widgets.fields["color"].description, "one of: " + ", ".join(widgets.fields["color"].schema["enum"])])) + " */")
    meetings = _resource(shipped, MEETINGS).methods["add_participant"]
    cut = parts(_templates(shipped, f"SHOW EXTENDED INSERT INTO {MEETINGS}")["add_participant"])
    preset = cut.values[cut.columns.index("preset_name")]
    assert preset == f"'{{{{ preset_name }}}}' /* required */ /* {meetings.fields['preset_name'].description} */"
    plain = parts(_templates(shipped, f"SHOW INSERT INTO {MEETINGS}")["add_participant"])
    assert plain.values[plain.columns.index("preset_name")] == "'{{ preset_name }}' /* required */"


def test_a_description_cannot_end_its_comment_or_start_a_template_tag() -> None:
    hostile = "ends */ here\nand /* nests {{ x }} {% if y %} {# z #} {{{ w"
    field = Field("title", "body", True, {"type": "string", "enum": ["a*/b"]}, description=hostile)
    text = template(_method(body_fields={"title": field}), [field], extended=True)
    (line,) = parts(text).values
    comment = line.split("/* required */ ")[1]
    assert comment.startswith("/* ") and comment.endswith(" */") and comment.count("*/") == 1 and comment.count("/*") == 1
    for opener in ("{{", "{%", "{#"):
        assert opener not in comment
    node = parse_statement(render(text, {"title": "T"}))  # the comment is no placeholder, and the statement parses
    assert [c.name for c in node.this.expressions] == ["title"]
    assert node.expression.expressions[0].this == "T"


def test_a_method_without_row_columns_gets_no_returning_and_one_without_columns_an_empty_list() -> None:
    method = _method(response_schema={})
    text = template(method, [], extended=False)
    assert text == f"INSERT INTO {MEETINGS} (\n)\nSELECT\n;"
    node = parse_statement(text)
    assert node.this.expressions == [] and node.args.get("returning") is None


def test_a_column_list_gives_the_method_insert_would_call(shipped: Connection) -> None:
    columns = ["meeting_id", "account_id", "app_id", "custom_participant_id", "preset_name", "name"]
    result = shipped.run(f"SHOW INSERT INTO {MEETINGS} ({', '.join(columns)})")
    (row,) = result.rows
    chosen = resolve(_resource(shipped, MEETINGS), "insert", anywhere=columns).pick.method
    assert row["method"] == chosen.name == "add_participant"
    cut = parts(row["template"])
    assert cut.columns == columns  # exactly the statement described, in its order
    plan = shipped.plans.get(render(row["template"], variables(row["template"], chosen, {})))
    assert plan.method is chosen  # type: ignore[attr-defined]
    (required,) = shipped.run(f"SHOW INSERT INTO {MEETINGS} ({', '.join(columns)}) /*+ REQUIRED */").rows
    assert parts(required["template"]).columns == [c for c in columns if c != "name"]


def test_a_column_list_no_method_takes_gives_the_error_insert_gives(shipped: Connection) -> None:
    columns = "meeting_id, account_id, app_id, custom_participant_id"
    with pytest.raises(ResolutionError) as shown:
        shipped.plans.get(f"SHOW INSERT INTO {MEETINGS} ({columns})")
    with pytest.raises(ResolutionError) as inserted:
        shipped.plans.get(f"INSERT INTO {MEETINGS} ({columns}) SELECT 'm', 'a', 'b', 'c'")
    assert str(shown.value) == str(inserted.value)
    assert "add_participant is missing preset_name" in str(shown.value)
    with pytest.raises(ProgrammingError, match="column app_id is given twice"):
        shipped.plans.get(f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, app_id)")
    with pytest.raises(ResolutionError, match=r"'titel' \(did you mean 'title'\?\)"):
        shipped.plans.get(f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, titel)")


def test_a_resource_without_insert_methods_is_refused(shipped: Connection) -> None:
    with pytest.raises(NotSupportedError, match="INSERT is not supported by cloudflare.realtime_kit.kit_meetings"):
        shipped.plans.get("SHOW INSERT INTO cloudflare.realtime_kit.kit_meetings")
    with pytest.raises(ProgrammingError, match=r"unknown resource cloudflare.realtime_kit.meetingz \(did you mean 'meetings'\?\)"):
        shipped.plans.get("SHOW INSERT INTO cloudflare.realtime_kit.meetingz")


def test_a_method_cfql_cannot_drive_is_listed_with_why_and_runs_as_nothing(kitchen: Connection) -> None:
    method = _resource(kitchen, "kitchen.sink.oddities").methods["post_xml"]
    (row,) = kitchen.run("SHOW EXTENDED INSERT INTO kitchen.sink.oddities").rows
    assert row == {"method": "post_xml", "template": f"-- kitchen.sink.oddities.post_xml cannot be used: {method.unsupported}"}
    assert kitchen.executescript(row["template"]) == []
    with pytest.raises(NotSupportedError, match=re.escape(method.unsupported)):
        kitchen.plans.get("SHOW INSERT INTO kitchen.sink.oddities (anything)")


def test_odd_column_names_are_quoted_and_get_placeholders_jinja_can_read(kitchen: Connection) -> None:
    cut = parts(_templates(kitchen, f"SHOW INSERT INTO {STACKS}")["create_stack"])
    assert '"X-Stack-Target"' in _templates(kitchen, f"SHOW INSERT INTO {STACKS}")["create_stack"].split("\n")
    assert cut.placeholder("X-Stack-Target") == "X_Stack_Target"
    assert placeholder_names(["a-b", "a_b", "none", "self", "1st", "data__x"]) == {
        "a_b": "a_b", "a-b": "a_b_2", "none": "none_", "self": "self_", "1st": "_1st", "data__x": "data__x",
    }
    assert [sql_name(n) for n in ("name", "type", "data__name", "create", "returning", 'a"b', "Size")] == [
        "name", "type", "data__name", '"create"', '"returning"', '"a""b"', "Size",
    ]


def test_like_and_where_choose_templates(shipped: Connection) -> None:
    assert [r["method"] for r in shipped.run(f"SHOW INSERT INTO {MEETINGS} LIKE '%participant%'").rows] == [
        "refresh_participant_token", "add_participant",
    ]
    rows = shipped.run(f"SHOW INSERT INTO {MEETINGS} WHERE template LIKE '%preset_name%'").rows
    assert [r["method"] for r in rows] == ["add_participant"]


# --------------------------------------------------------------------------
# DESCRIBE METHOD
# --------------------------------------------------------------------------


def test_describe_method_lists_inputs_then_outputs(shipped: Connection) -> None:
    result = shipped.run(f"DESCRIBE METHOD {MEETINGS}.add_participant")
    assert result.columns == ["name", "type", "param_type", "shape"]
    assert [(r["name"], r["type"], r["param_type"]) for r in result.rows] == [
        ("account_id", "string", "input_required"),
        ("app_id", "string", "input_required"),
        ("meeting_id", "string", "input_required"),
        ("custom_participant_id", "string", "input_required"),
        ("name", "string", "input_optional"),
        ("picture", "string", "input_optional"),
        ("preset_name", "string", "input_required"),
        ("success", "boolean", "output"),
        ("data", "object", "output"),
    ]


def test_shape_shows_an_objects_nested_properties_and_nothing_for_scalars(shipped: Connection) -> None:
    method = _resource(shipped, MEETINGS).methods["create"]
    rows = {(r["name"], r["param_type"]): r for r in shipped.run(f"DESCRIBE METHOD {MEETINGS}.create").rows}
    assert rows[("title", "input_optional")]["shape"] == ""
    ai = json.loads(rows[("ai_config", "input_optional")]["shape"])
    schema = method.fields["ai_config"].schema
    assert ai["properties"].keys() == schema["properties"].keys()
    summary = ai["properties"]["summarization"]["properties"]
    assert summary["summary_type"]["enum"] == schema["properties"]["summarization"]["properties"]["summary_type"]["enum"]
    assert summary["word_limit"]["minimum"] == 150
    storage = json.loads(rows[("recording_config", "input_optional")]["shape"])["properties"]["storage_config"]
    assert len(storage["anyOf"]) == len(method.fields["recording_config"].schema["properties"]["storage_config"]["anyOf"])
    data = json.loads(rows[("data", "output")]["shape"])
    assert data["properties"].keys() == method.row_schema["properties"]["data"]["properties"].keys()
    assert "description" not in ai  # the field's own description is its column, under EXTENDED


def test_outputs_are_the_columns_returning_can_name(zonely: Connection) -> None:
    method = _resource(zonely, RECORDS).methods["create_record"]
    assert method.object_key  # rows come from under the objectKey, not the response's top level
    outputs = [r["name"] for r in zonely.run(f"DESCRIBE METHOD {RECORDS}.create_record").rows if r["param_type"] == "output"]
    assert outputs == list(method.row_schema["properties"]) == [r["name"] for r in zonely.run(f"DESCRIBE {RECORDS}.create_record").rows]
    zonely.plans.get(f"INSERT INTO {RECORDS} (zone_id, name, type, content) SELECT 'z', 'n', 'A', 'c' RETURNING {', '.join(outputs)}")


def test_describe_method_extended_adds_each_description(shipped: Connection) -> None:
    method = _resource(shipped, MEETINGS).methods["add_participant"]
    result = shipped.run(f"DESCRIBE METHOD EXTENDED {MEETINGS}.add_participant")
    assert result.columns == ["name", "type", "param_type", "shape", "description"]
    inputs = {r["name"]: r["description"] for r in result.rows if r["param_type"] != "output"}
    assert inputs == {name: field.description for name, field in method.fields.items()}
    assert shipped.run(f"DESCRIBE EXTENDED METHOD {MEETINGS}.add_participant").rows == result.rows


def test_describe_method_of_an_unknown_method_suggests_the_near_one(shipped: Connection) -> None:
    with pytest.raises(ProgrammingError, match=r"unknown method cloudflare.realtime_kit.meetings.add_participnt \(did you mean 'add_participant'\?\)"):
        shipped.plans.get(f"DESCRIBE METHOD {MEETINGS}.add_participnt")


def test_a_method_cfql_cannot_drive_can_still_be_described(zonely: Connection) -> None:
    method = _resource(zonely, RECORDS).methods["import_zone"]
    assert method.unsupported  # an XML body
    rows = zonely.run(f"DESCRIBE METHOD {RECORDS}.import_zone").rows
    assert [(r["name"], r["param_type"]) for r in rows if r["param_type"] != "output"] == [
        (name, "input_required" if field.required else "input_optional") for name, field in method.fields.items()
    ]
    assert "zone_id" in method.fields
    with pytest.raises(NotSupportedError, match="cannot be used"):
        zonely.run(f"DESCRIBE {RECORDS}.import_zone")  # DESCRIBE (a row's columns) keeps its refusal


def test_a_secret_default_is_masked_in_the_shape() -> None:
    schema = {
        "type": "object",
        "properties": {
            "password": {"type": "string", "default": "HUNTER2"},
            "key": {"type": "string", "format": "password", "default": "S3CRET"},
            "colour": {"type": "string", "default": "blue"},
        },
    }
    method = _method(body_fields={"login": Field("login", "body", False, schema)}, secret_names=frozenset({"password"}))
    (row, _) = describe_method_io(method, extended=False).rows
    assert "HUNTER2" not in row["shape"] and "S3CRET" not in row["shape"]
    assert json.loads(row["shape"])["properties"] == {
        "password": {"type": "string", "default": "***"},
        "key": {"type": "string", "format": "password", "default": "***"},
        "colour": {"type": "string", "default": "blue"},
    }


def test_a_default_anywhere_inside_a_secret_field_is_masked() -> None:
    nested = {"type": "object", "format": "password", "properties": {"key": {"type": "string", "default": "HUNTER2"}}}
    chosen = {"x-cfql-secret": True, "anyOf": [{"type": "string", "default": "S3CRET"}, {"type": "integer"}]}
    method = _method(body_fields={"vault": Field("vault", "body", False, nested), "pin": Field("pin", "body", False, chosen)})
    shapes = [row["shape"] for row in describe_method_io(method, extended=False).rows if row["param_type"] != "output"]
    assert shapes and all("HUNTER2" not in shape and "S3CRET" not in shape for shape in shapes)
    assert json.loads(shapes[1])["properties"]["key"]["default"] == "***"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SHOW SERVICES IN cloudflare LIKE :pattern", "SHOW … LIKE takes a string written in the statement"),
        ("SHOW VERSION /*+ REQUIRED */", r"/\*\+ REQUIRED \*/ belongs to SHOW INSERT INTO"),
        (f"SHOW METHODS IN {MEETINGS} /*+ REQUIRED */", r"/\*\+ REQUIRED \*/ belongs to SHOW INSERT INTO"),
        (f"SHOW INSERT INTO {MEETINGS} /*+ EVERYTHING */", "unknown hint EVERYTHING"),
    ],
)
def test_show_refuses_what_it_would_otherwise_ignore(shipped: Connection, sql: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message):
        shipped.run(sql)


def test_a_show_where_refusal_suggests_only_what_a_show_takes(shipped: Connection) -> None:
    with pytest.raises(NotSupportedError) as info:
        shipped.run(f"SHOW METHODS IN {MEETINGS} WHERE upper(MethodName) = 'X'")
    assert "use the SHOW's columns, literals" in str(info.value)
    assert "json_extract" not in str(info.value) and ":params" not in str(info.value)


def test_ordinary_comments_are_no_hints(shipped: Connection) -> None:
    plain = shipped.run(f"SHOW METHODS IN {MEETINGS}").rows
    assert shipped.run(f"SHOW METHODS IN {MEETINGS} -- +1 reviewed").rows == plain
    assert shipped.run(f"SHOW METHODS IN {MEETINGS} /* + keep in sync */").rows == plain
    required = shipped.run(f"SHOW INSERT INTO {MEETINGS} /*+ REQUIRED */ -- +1").rows
    assert required == shipped.run(f"SHOW INSERT INTO /*+ REQUIRED */ {MEETINGS}").rows != shipped.run(f"SHOW INSERT INTO {MEETINGS}").rows


# --------------------------------------------------------------------------
# SHOW VERSION
# --------------------------------------------------------------------------


def test_show_version(shipped: Connection) -> None:
    version = metadata.version("cfql")
    result = shipped.run("SHOW VERSION")
    assert (result.columns, result.rows) == (["version"], [{"version": version}])
    extended = shipped.run("SHOW EXTENDED VERSION")
    assert extended.columns == ["version", "python", "platform"]
    (row,) = extended.rows
    assert row["version"] == version
    assert row["python"].endswith(platform.python_version()) and row["platform"].startswith(sys.platform)
    assert shipped.run(f"SHOW VERSION WHERE version = '{version}'").rows == result.rows
    assert shipped.run("SHOW VERSION LIKE 'no%'").rows == []


# --------------------------------------------------------------------------
# LIKE and WHERE on every SHOW
# --------------------------------------------------------------------------


def test_where_keeps_the_rows_its_condition_holds_for(shipped: Connection) -> None:
    every = shipped.run(f"SHOW METHODS IN {MEETINGS}").rows
    kept = shipped.run(f"SHOW METHODS IN {MEETINGS} WHERE SQLVerb = 'INSERT'").rows
    assert kept == [r for r in every if r["SQLVerb"] == "INSERT"] and 0 < len(kept) < len(every)
    either = shipped.run(f"SHOW METHODS IN {MEETINGS} WHERE SQLVerb IN ('DELETE', 'REPLACE') OR NOT RequiredParams LIKE '%meeting_id%'").rows
    assert [r["MethodName"] for r in either] == [
        r["MethodName"] for r in every if r["SQLVerb"] in ("DELETE", "REPLACE") or "meeting_id" not in r["RequiredParams"]
    ]


def test_unquoted_names_match_whatever_their_case_and_quoted_ones_exactly(shipped: Connection) -> None:
    folded = shipped.run(f"SHOW METHODS IN {MEETINGS} WHERE methodname LIKE 'add%'").rows
    assert [r["MethodName"] for r in folded] == ["add_participant"]
    assert shipped.run(f'SHOW METHODS IN {MEETINGS} WHERE "MethodName" LIKE \'add%\'').rows == folded
    with pytest.raises(ProgrammingError, match=r"unknown column 'methodname' \(did you mean 'MethodName'\?\)"):
        shipped.plans.get(f'SHOW METHODS IN {MEETINGS} WHERE "methodname" = \'create\'')


def test_an_unknown_column_is_one_line_naming_the_columns(shipped: Connection) -> None:
    with pytest.raises(ProgrammingError) as raised:
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE colour = 'red'")
    message = str(raised.value)
    assert message == "SHOW METHODS … WHERE: unknown column 'colour'; columns: MethodName, RequiredParams, SQLVerb"
    with pytest.raises(ProgrammingError, match=r"unknown column 'sqlverbs' \(did you mean 'SQLVerb'\?\)"):
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE sqlverbs = 'INSERT'")
    with pytest.raises(ProgrammingError, match="unknown column 'description'"):  # a column of SHOW EXTENDED METHODS only
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE description = ''")
    assert len(shipped.run(f"SHOW EXTENDED METHODS IN {MEETINGS} WHERE unsupported = ''").rows) == 7


def test_where_refuses_parameters_and_functions_when_planned(shipped: Connection) -> None:
    with pytest.raises(NotSupportedError, match=r"SHOW METHODS … WHERE: :verb cannot be used, since a SHOW is answered before parameters are bound"):
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE SQLVerb = :verb")
    with pytest.raises(NotSupportedError, match="function UPPER"):
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE upper(SQLVerb) = 'INSERT'")
    with pytest.raises(NotSupportedError, match="column m.SQLVerb: a table qualifier is not supported"):
        shipped.plans.get(f"SHOW METHODS IN {MEETINGS} WHERE m.SQLVerb = 'INSERT'")


def test_where_on_providers_services_and_resources(shipped: Connection) -> None:
    assert [r["name"] for r in shipped.run("SHOW PROVIDERS WHERE name = 'cloudflare'").rows] == ["cloudflare"]
    assert shipped.run("SHOW PROVIDERS WHERE name = 'nope'").rows == []
    services = shipped.run("SHOW EXTENDED SERVICES IN cloudflare WHERE name IN ('realtime_kit') AND description IS NOT NULL").rows
    assert [r["name"] for r in services] == ["realtime_kit"]
    resources = shipped.run("SHOW RESOURCES IN cloudflare.realtime_kit WHERE id LIKE '%participants' OR name = 'meetings'").rows
    assert [r["name"] for r in resources] == ["meetings", "meetings_participants"]
    assert [r["name"] for r in shipped.run("SHOW RESOURCES IN cloudflare.realtime_kit LIKE 'kit%'").rows] == ["kit_meetings"]


@pytest.mark.parametrize(
    "sql",
    [
        f"SHOW INSERT INTO {MEETINGS}",
        f"SHOW EXTENDED INSERT INTO {MEETINGS} (account_id, app_id) /*+ REQUIRED */",
        f"DESCRIBE METHOD EXTENDED {MEETINGS}.create",
        "SHOW EXTENDED VERSION",
        f"SHOW METHODS IN {MEETINGS} WHERE SQLVerb = 'INSERT'",
    ],
)
def test_each_is_answered_when_planned(shipped: Connection, sql: str) -> None:
    plan = shipped.plans.get(sql)
    assert isinstance(plan, StaticPlan) and plan.dry_run is None
    first, again = shipped.run(sql), shipped.run(sql)
    assert first.rows and first.rows == again.rows and first.rows is not again.rows


def test_a_wrong_target_fails_before_the_script_runs_anything(shipped: Connection) -> None:
    script = (
        f"INSERT INTO {MEETINGS} (account_id, app_id) SELECT 'a', 'b';\n"
        f"SHOW INSERT INTO {MEETINGS} (account_id, app_id, titel);"
    )
    with pytest.raises(ResolutionError, match="titel"):  # the INSERT would have reached the failing transport
        shipped.executescript(script)


def test_example_values_follow_their_schemas() -> None:
    """The test helper that fills templates: enums, bounds, objects and alternatives as the schema says."""
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 150}, "e": {"enum": ["x", "y"]}, "a": {"type": "array", "items": {"type": "boolean"}}}}
    assert example(schema, "o") == {"n": 150, "e": "x", "a": [True]}
    assert example({"anyOf": [{"type": "string", "format": "uri"}, {"type": "integer"}]}, "u") == "https://example.com/u"


def test_a_show_row_holds_its_columns_only(shipped: Connection) -> None:
    """Rows are dicts: a column SHOW does not list (a description without EXTENDED) is not in them either."""
    for sql in (f"SHOW METHODS IN {MEETINGS}", "SHOW SERVICES IN cloudflare", "SHOW RESOURCES IN cloudflare.realtime_kit", "SHOW VERSION"):
        result = shipped.run(sql)
        assert result.rows and all(list(row) == result.columns for row in result.rows), sql

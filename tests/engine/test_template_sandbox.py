"""Templates render in a sandbox: no Python internals, no files but a named folder, no credentials, bounded work."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from sqlglot import exp

from cfql.errors import TemplateError
from cfql.provider.registry import Registry, default_registry
from cfql.script.sandbox import Limits, looks_secret
from cfql.script.templates import render
from cfql.script.variables import load_variables
from cfql.sql.dialect import parse_statement


def fails(template: str, variables: dict[str, object] | None = None, **options: object) -> str:
    """The one-line message rendering ``template`` fails with."""
    with pytest.raises(TemplateError) as caught:
        render(template, variables or {}, "t.iql", **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# -- Python internals are out of reach -------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "lipsum.__globals__.os.popen('id').read()",
        "cycler.__init__.__globals__.os.system('touch {marker}')",
        "joiner.__init__.__globals__.os.system('touch {marker}')",
        "namespace.__init__.__globals__.os.system('touch {marker}')",
        "cycler.__init__.__globals__.__builtins__.open('{secret}').read()",
        "''.__class__.__mro__[1].__subclasses__()",
        "().__class__.__base__.__subclasses__()",
        "''|attr('__class__')",
        "''['__class__']",
        "[1]|map(attribute='__class__')|list",
        "'{{0.__class__}}'.format('')",
        "''.format.__globals__",
        "namespace.mro()",
        "range.__self__",
        "self._TemplateReference__context",
        "x.__init__",
    ],
)
def test_python_internals_are_refused(expression: str, tmp_path: Path) -> None:
    marker, secret = tmp_path / "marker", tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    template = "SELECT 1,\n'{{ " + expression.format(marker=marker, secret=secret) + " }}'"
    message = fails(template, {"x": 1})
    assert message.startswith("t.iql:2: ")
    assert "unsafe" in message or "undefined template variable: lipsum" in message
    assert "TOP-SECRET" not in message and not marker.exists()


def test_the_popen_payload_names_what_is_refused() -> None:
    assert fails("SELECT '{{ ''.__class__ }}'") == "t.iql:1: template error: access to attribute '__class__' of 'str' object is unsafe"
    assert fails("SELECT '{{ lipsum }}'") == "t.iql:1: undefined template variable: lipsum"


# -- every failure is one line with the template's line --------------------------------------


@pytest.mark.parametrize(
    "expression, message",
    [
        ("x | nosuch", "template syntax error: No filter named 'nosuch'"),
        ("x is nosuch", "template syntax error: No test named 'nosuch'"),
        ("x.nosuch", "undefined template variable: x.nosuch"),
        ("d.a.b", "undefined template variable: d.a.b"),
        ("d.a.b.c", "undefined template variable: b (attribute or key)"),
        ("x()", "template error: 'int' object is not callable"),
        ("1 / 0", "template error: division by zero"),
        ("x // 0", "template error: division by zero"),
        ("'a' + x", 'template error: can only concatenate str (not "int") to str'),
        ("x.bit_length(1)", "template error: int.bit_length() takes no arguments (1 given)"),
        ("s.split(1)", "template error: must be str or None, not int"),
        ("s", "{{ s }}: a value of type 'set' cannot be placed in SQL"),
        ("self", "{{ self }}: a value of type 'TemplateReference' cannot be placed in SQL"),
        ("dict.fromkeys", "{{ dict.fromkeys }}: a value of type 'builtin_function_or_method' cannot be placed in SQL"),
    ],
)
def test_template_failures_are_one_line_with_the_line(expression: str, message: str) -> None:
    template = "SELECT 1,\n2,\n'{{ " + expression + " }}'"
    variables = {"x": 1, "d": {"a": {}}, "s": {1, 2} if expression == "s" else "a b"}
    assert fails(template, variables) == f"t.iql:3: {message}"


def test_a_macro_calling_itself_is_a_template_error() -> None:
    assert fails("{% macro f(n) %}{{ f(n) }}{% endmacro %}\nSELECT {{ f(1) }}").endswith(
        "template error: too deeply nested (a macro that calls itself without end?)"
    )


# -- credentials stay out of env -------------------------------------------------------------


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> frozenset[str]:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "SENTINEL-TOKEN")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "SENTINEL-KEY")
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "sentinel@example.com")
    monkeypatch.setenv("CFQL_TEST_SERVICE_TOKEN", "SENTINEL-OTHER")
    monkeypatch.setenv("CFQL_TEST_APP", "app-1")
    return default_registry().credential_env_vars()


def test_the_registry_names_every_credential_variable_of_its_providers() -> None:
    assert {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL"} <= default_registry().credential_env_vars()


def test_credential_variables_are_found_in_alternatives_and_in_any_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """StackQL's other auth types name theirs keyIDenvvar, credentialsenvvar ...; none looks secret by name here."""
    (tmp_path / "src" / "acme" / "v1").mkdir(parents=True)
    (tmp_path / "src" / "acme" / "v1" / "provider.yaml").write_text(
        "id: acme\nname: acme\nversion: v1\nproviderServices: {}\nconfig:\n  auth:\n    type: service_account\n"
        "    credentialsenvvar: ACME_CREDS_FILE\n    alternatives:\n      - type: aws_signing_v4\n"
        "        keyIDenvvar: ACME_ID\n        credentialsenvvar: ACME_PASS_PHRASE\n"
    )
    hidden = Registry(tmp_path).credential_env_vars()
    assert hidden == {"ACME_CREDS_FILE", "ACME_ID", "ACME_PASS_PHRASE"}
    monkeypatch.setenv("ACME_ID", "SENTINEL-ID")
    assert fails("SELECT '{{ env.ACME_ID }}'", hidden=hidden) == "t.iql:1: env.ACME_ID is a credential and is not available to templates"
    assert "SENTINEL" not in render("SELECT '{{ env }}'", {}, hidden=hidden)


@pytest.mark.parametrize("name", ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CFQL_TEST_SERVICE_TOKEN"])
@pytest.mark.parametrize("form", ["env.{name}", "env['{name}']", "env[n]"])
def test_a_credential_in_env_is_an_error_never_its_value(credentials: frozenset[str], name: str, form: str) -> None:
    template = "SELECT 1,\n'{{ " + form.format(name=name) + " }}'"
    message = fails(template, {"n": name}, hidden=credentials)
    assert message == f"t.iql:2: env.{name} is a credential and is not available to templates"


@pytest.mark.parametrize(
    "expression", ["env", "env.items() | list", "env.values() | list", "env | tojson", "env | dictsort", "env.get('CLOUDFLARE_API_TOKEN')"]
)
def test_no_view_of_env_holds_a_credential(credentials: frozenset[str], expression: str) -> None:
    sql = render("SELECT '{{ " + expression + " }}'", {}, hidden=credentials)
    assert "SENTINEL" not in sql and "sentinel@" not in sql
    assert "app-1" in sql or expression.startswith("env.get")


def test_other_variables_stay_available(credentials: frozenset[str]) -> None:
    assert render("SELECT '{{ env.CFQL_TEST_APP }}'", {}, hidden=credentials) == "SELECT 'app-1'"


@pytest.mark.parametrize(
    "name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "MYAPIKEY", "npm_config_authToken", "SSH_AUTH_SOCK", "MYAPP_PASS"]
)
def test_names_that_look_secret_are_hidden(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["HOME", "MONKEY_NAME", "KEYBOARD", "PWD", "CFQL_TEST_APP", "TOKENIZER_MODE"])
def test_ordinary_names_stay_visible(name: str) -> None:
    assert not looks_secret(name)


# -- files only from the folder the user names -----------------------------------------------


@pytest.mark.parametrize("statement", ["{% include 'x.iql' %}", "{% import 'x.iql' as m %}", "{% from 'x.iql' import f %}", "{% extends 'x.iql' %}"])
def test_files_need_a_template_folder(statement: str) -> None:
    assert fails("SELECT 1;\n" + statement) == "t.iql:2: include/import/extends need a template folder (--template-dir)"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    (root / "parts").mkdir(parents=True)
    (root / "parts" / "title.iql").write_text("SELECT '{{ title }}'")
    (root / "macros.iql").write_text("{% macro quoted(a) %}'{{ a }}'{% endmacro %}{% macro bare(a) %}{{ a }}{% endmacro %}")
    (root / "base.iql").write_text("SELECT 1,\n{% block columns %}2{% endblock %}")
    (root / "broken.iql").write_text("SELECT\n{{ 1 / 0 }}")
    (root / "filtered.iql").write_text("{% filter upper %}x{% endfilter %}")
    (root / "commented.iql").write_text("SELECT 1 -- {{ title }}\n")
    (tmp_path / "outside.iql").write_text("OUTSIDE")
    (root / "link.iql").symlink_to(tmp_path / "outside.iql")
    return root


def test_included_templates_place_values_as_the_script_does(folder: Path) -> None:
    hostile = "O'Brien'); DELETE FROM x; --"
    sql = render("{% include 'parts/title.iql' %};", {"title": hostile}, template_dir=folder)
    assert sql == "SELECT 'O''Brien''); DELETE FROM x; --';"
    assert render("{% include 'parts/title.iql' %}", {"title": None}, template_dir=folder) == "SELECT NULL"


def test_imported_macros_keep_their_values_checked(folder: Path) -> None:
    template = "{% import 'macros.iql' as m %}SELECT {{ m.quoted(v) }}, {{ m.bare(5) }}"
    assert render(template, {"v": "x'y"}, template_dir=folder) == "SELECT 'x''y', 5"
    message = fails("{% from 'macros.iql' import bare %}SELECT {{ bare(v) }}", {"v": "1; DROP"}, template_dir=folder)
    assert message.startswith(f"{folder / 'macros.iql'}:1: {{{{ a }}}} stands outside quotes")


def test_extended_templates_and_super(folder: Path) -> None:
    template = "{% extends 'base.iql' %}{% block columns %}{{ super() }}, '{{ v }}'{% endblock %}"
    assert render(template, {"v": "a'b"}, template_dir=folder) == "SELECT 1,\n2, 'a''b'"


@pytest.mark.parametrize("name", ["../outside.iql", "parts/../../outside.iql", "{outside}", "link.iql", "missing.iql"])
def test_no_path_leads_out_of_the_folder(folder: Path, name: str) -> None:
    name = name.format(outside=folder.parent / "outside.iql")
    message = fails("{% include '" + name + "' %}", template_dir=folder)
    assert message == f"t.iql:1: template error: no file {name!r} in the template folder {folder}"


def test_a_file_named_by_a_variable_is_confined_too(folder: Path) -> None:
    assert "no file '../outside.iql'" in fails("{% include v %}", {"v": "../outside.iql"}, template_dir=folder)


@pytest.mark.parametrize(
    "name, message",
    [
        ("broken.iql", "broken.iql:2: template error: division by zero"),
        ("filtered.iql", "filtered.iql:1: {% filter %} blocks are not allowed"),
        ("commented.iql", "commented.iql:1: {{ title }}: placeholders are not allowed inside comments"),
    ],
)
def test_failures_in_an_included_file_name_that_file(folder: Path, name: str, message: str) -> None:
    assert fails("SELECT 0;\n{% include '" + name + "' %}", {"title": "x"}, template_dir=folder).startswith(f"{folder}/{message}")


# -- bounded time and size -------------------------------------------------------------------


@pytest.mark.parametrize(
    "template, message",
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}SELECT 1", "range() loops took more than 10,000,000 items"),
        ("SELECT '{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}'", "range() loops took more than 10,000,000 items"),
        ("SELECT {{ range(1000000000) | length }}", "range() of 1,000,000,000 items: at most 100,000 are allowed"),
        ("SELECT '{{ 'a' * 100000000000 }}'", "repeating a value 100,000,000,000 times would make it larger than 10,000,000 characters"),
        ("SELECT '{{ [1, 2] * 100000000000 }}'", "repeating a value 100,000,000,000 times"),
        ("SELECT '{{ 'a' | center(100000000000) }}'", "the center filter would make a value larger than 10,000,000 characters"),
        ("SELECT '{{ 'a' | indent(100000000, true) }}'", "the indent filter would make a value larger"),
        ("SELECT '{{ 'a'.ljust(100000000000) }}'", "str.ljust() would make a value larger than 10,000,000 characters"),
        ("SELECT '{{ 'a'.zfill(100000000000) }}'", "str.zfill() would make a value larger"),
        ("SELECT '{{ ('\t' * 5000000).expandtabs(100) }}'", "str.expandtabs() would make a value larger"),
        ("SELECT '{{ ('a' * 5000000).replace('', 'bb') }}'", "str.replace() would make a value larger"),
        ("SELECT '{{ ('a' * 5000000) | replace('a', 'bbb') }}'", "the replace filter would make a value larger"),
        ("SELECT '{{ ('a' * 4000) | join('b' * 4000) }}'", "the join filter would make a value larger"),
        ("SELECT '{{ ('b' * 4000).join('a' * 4000) }}'", "str.join() would make a value larger"),
        ("SELECT '{{ '{:99999999999}'.format(1) }}'", "a format width of 99,999,999,999 would make a value larger"),
        ("SELECT '{{ '{:{}}'.format(1, 99999999999) }}'", "a format width of 99,999,999,999"),
        ("SELECT '{{ '%99999999999d' % 1 }}'", "a format width of 99,999,999,999"),
        ("SELECT '{{ '%*d' % (99999999999, 1) }}'", "a format width of 99,999,999,999"),
        ("SELECT '{{ '%99999999999d' | format(1) }}'", "a format width of 99,999,999,999"),
        ("SELECT {{ 10 ** 100000000 }}", "10 ** 100000000 is too large a number"),
        ("SELECT '{{ [1] | batch(100000000) | list }}'", "the batch filter would make a value larger"),
        ("SELECT '{{ dict.fromkeys(range(100000), 'x' * 1000) }}'", "a value would be larger than 10,000,000 characters"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}SELECT '{{ ns.s }}'",
            "namespace attribute 's' would be larger than 10,000,000 characters",
        ),
    ],
)
def test_work_and_size_are_bounded(template: str, message: str) -> None:
    """Each stops with one line, before it allocates what it asks for."""
    assert message in fails(template)


def test_the_rendered_script_is_bounded_as_it_grows() -> None:
    template = "{% for i in range(200) %}SELECT 1;\n{% endfor %}"
    assert fails(template, limits=Limits(output=1000)) == "t.iql: the rendered script would be larger than 1,000 characters"
    assert render(template, {}, limits=Limits(output=2000)).count("SELECT 1;") == 200


def test_a_value_too_large_to_place_is_refused() -> None:
    assert fails("SELECT '{{ v }}'", {"v": "x" * 2000}, limits=Limits(output=1000)) == (
        "t.iql:1: {{ v }}: its value is larger than 1,000 characters"
    )


def test_a_loop_that_calls_nothing_stops_at_the_deadline() -> None:
    """No hook of the sandbox runs inside these loops: the watchdog stops them; the next render is unaffected."""
    template = "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}SELECT 1"
    assert fails(template, limits=Limits(seconds=0.2)) == "t.iql: the template ran longer than 0.2 seconds"
    assert render("SELECT {{ n }}", {"n": 1}) == "SELECT 1"
    assert sum(range(3_000_000)) > 0  # a stray TimedOut would land in a loop like this one


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    ["'{{ v }}'", "E'{{ v }}'", "'{{ v }}'::text", "$${{ v }}$$", "$q$ {{ v }} $q$", "'prefix {{ v }}'", "'{{ v }}{{ w }}'", "N'{{ v }}'", "{{ v }}"],
)
def test_none_makes_the_whole_literal_null(template: str) -> None:
    sql = render(f"SELECT {template} FROM p.s.r WHERE id = 'x'", {"v": None, "w": "w"})
    node = parse_statement(sql)
    assert len(node.expressions) == 1 and "null" not in sql.replace("NULL", "")
    first = node.expressions[0]
    assert isinstance(first.this if isinstance(first, exp.Cast) else first, exp.Null)
    assert node.args["where"].sql() == "WHERE id = 'x'"


def test_none_from_a_vars_file_is_null(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text('{"name": null, "cfg": {"a": null}}')
    (tmp_path / "v.yaml").write_text("other: ~\n")
    variables = load_variables([], [str(tmp_path / "v.json"), str(tmp_path / "v.yaml")])
    sql = render("SELECT '{{ name }}', '{{ other }}', '{{ cfg }}', '{\"a\": {{ name | tojson }}}'", variables)
    assert sql == "SELECT NULL, NULL, '{\"a\": null}', '{\"a\": null}'"


def test_in_a_loop_only_the_literals_holding_none_are_null() -> None:
    template = "SELECT {% for v in vs %}'{{ v }}', {% endfor %}1"
    assert render(template, {"vs": ["a", None, "b'c", None]}) == "SELECT 'a', NULL, 'b''c', NULL, 1"


def test_null_never_joins_a_neighbouring_token() -> None:
    assert render("SELECT 1||'{{ v }}'||2, x'{{ v }}'", {"v": None}) == "SELECT 1|| NULL ||2, NULL"


def test_a_quoted_name_cannot_be_null() -> None:
    assert fails('SELECT "{{ v }}"', {"v": None}) == 't.iql:1: {{ v }} stands inside a "quoted name", and a name cannot be NULL'


def test_dates_from_yaml_are_iso_text() -> None:
    sql = render("SELECT '{{ d }}', '{{ c }}'", {"d": datetime.date(2024, 1, 2), "c": {"at": datetime.datetime(2024, 1, 2, 3, 4)}})
    assert sql == "SELECT '2024-01-02', '{\"at\": \"2024-01-02T03:04:00\"}'"
    assert json.loads(parse_statement(sql).expressions[1].this) == {"at": "2024-01-02T03:04:00"}


def test_values_json_cannot_write_are_refused_by_type() -> None:
    assert fails("SELECT '{{ v }}'", {"v": b"x"}) == "t.iql:1: {{ v }}: a value of type 'bytes' cannot be placed in SQL"
    assert "cannot be written as JSON" in fails("SELECT '{{ v }}'", {"v": {"a": float("nan")}})
    assert "cannot be written as JSON" in fails("SELECT '{{ v }}'", {"v": {(1, 2): 1}})


def test_the_environment_is_read_when_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFQL_TEST_LATE", "late")
    assert os.environ["CFQL_TEST_LATE"] == "late"
    assert render("SELECT '{{ env.CFQL_TEST_LATE }}'", {}) == "SELECT 'late'"

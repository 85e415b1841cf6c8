"""The stack files of ``cfql deploy``: manifests, .iql anchors, typed values, env files and ``init``.

Everything here is read from files the tests write into ``tmp_path`` (or the
repository's own example and reference block); nothing is sent anywhere.
Errors must name the file and the line, because a stack's author has only the
message to find the mistake.
"""

from __future__ import annotations

import base64
import json
import re
import typing as t
import warnings
from collections import Counter
from pathlib import Path

import pytest

import cfql.deploy
from cfql.deploy import queries, values
from cfql.deploy.manifest import MAX_DEPTH, MAX_NODES, Prop, Stack, Unquoted
from cfql.deploy.queries import parse_queries, select_names
from cfql.errors import ProgrammingError, StackError, StackWarning

REPO = Path(__file__).resolve().parents[2]
BLOCK_FILE = REPO / "tests" / "data" / "meetings-manifest-block.yaml"
EXAMPLE = REPO / "examples" / "meetings-stack"
MANIFEST = "stackql_manifest.yml"

#: The reference block as the tests load it: every line below the file's own 2-line header comment.
BLOCK = BLOCK_FILE.read_text(encoding="utf-8").splitlines(keepends=True)[2:]
#: A minimal manifest the block is put under, unchanged.
HEAD = "name: meetings-demo\nproviders: [cloudflare]\nresources:\n"


# -- helpers -------------------------------------------------------------------------------------


def write_stack(folder: Path, text: str, files: t.Mapping[str, str] | None = None) -> Path:
    """A stack folder holding ``text`` as its manifest (and ``files`` under resources/)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    for name, content in (files or {}).items():
        path = folder / "resources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


def load_recording(folder: Path) -> tuple[Stack, list[str]]:
    """The stack and the text of every StackWarning loading it gave (none suppressed as repeats)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stack = cfql.deploy.load_stack(folder)
    assert all(issubclass(item.category, StackWarning) for item in caught), [str(i.message) for i in caught]
    return stack, [str(item.message) for item in caught]


def load_error(folder: Path, text: str) -> str:
    """The StackError message loading a manifest of ``text`` gives."""
    write_stack(folder, text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackWarning)
        with pytest.raises(StackError) as caught:
            cfql.deploy.load_stack(folder)
    return str(caught.value)


def unquoted_placeholder_lines(text: str) -> set[int]:
    """Lines where a ``{{`` starts a YAML value unquoted (after ``key: `` or ``- ``), read from the text alone."""
    return {number for number, line in enumerate(text.splitlines(), 1) if re.search(r"(?::|^\s*-)\s+\{\{", line)}


def block_stack(tmp_path: Path) -> tuple[Path, str, Stack, list[str]]:
    text = HEAD + "".join(BLOCK)
    folder = write_stack(tmp_path / "demo", text)
    stack, messages = load_recording(folder)
    return folder, text, stack, messages


def props_by_name(stack: Stack, resource: int = 0) -> dict[str, Prop]:
    return {prop.name: prop for prop in stack.resources[resource].props}


# -- 1. the manifest: the reference block loads -----------------------------------------------------


def test_reference_block_loads_under_a_minimal_manifest(tmp_path: Path) -> None:
    _, _, stack, _ = block_stack(tmp_path)
    assert stack.name == "meetings-demo"
    assert stack.providers == ["cloudflare"]
    assert [resource.name for resource in stack.resources] == ["meetings"]
    assert stack.resources[0].type == "resource"


def test_each_unquoted_placeholder_line_warns_once_naming_file_and_line(tmp_path: Path) -> None:
    """One StackWarning per line holding an unquoted {{ x }}; the lines are found from the text, not from YAML."""
    folder, text, _, messages = block_stack(tmp_path)
    expected = unquoted_placeholder_lines(text)
    # The reference block has 16 such lines (word_limit ... summarize_on_end); a broken regex must not pass.
    assert len(expected) == 16
    manifest = str(folder / MANIFEST)
    warned = []
    for message in messages:
        match = re.match(rf"{re.escape(manifest)}:(\d+): unquoted (\{{\{{ \w+ \}}\}}) is read as a template", message)
        assert match, message
        line = int(match.group(1))
        warned.append(line)
        # The warning quotes the placeholder written on that very line.
        assert match.group(2) in text.splitlines()[line - 1]
    assert set(warned) == expected
    assert max(Counter(warned).values()) == 1


def test_quoted_placeholders_give_no_warning(tmp_path: Path) -> None:
    """Every line with "{{ x }}" (quoted) is absent from the warnings; a quoted-only manifest warns not at all."""
    _, text, _, messages = block_stack(tmp_path)
    quoted = {n for n, line in enumerate(text.splitlines(), 1) if '"{{' in line}
    assert len(quoted) > 20
    warned = {int(m.split(":")[1]) for m in messages}
    assert not quoted & warned
    folder = write_stack(
        tmp_path / "quoted",
        'name: q\nproviders: [cloudflare]\nresources:\n  - name: a\n    props:\n      - name: p\n        value: "{{ x }}"\n',
    )
    stack, messages = load_recording(folder)
    assert messages == []
    assert stack.resources[0].props[0].value == "{{ x }}"


def test_two_unquoted_placeholders_on_one_line_warn_once(tmp_path: Path) -> None:
    folder = write_stack(
        tmp_path / "s",
        "name: s\nproviders: [cloudflare]\nresources:\n  - name: a\n    props:\n      - name: p\n        value: [{{ a }}, {{ b }}]\n",
    )
    stack, messages = load_recording(folder)
    assert len(messages) == 1
    assert messages[0].startswith(f"{folder / MANIFEST}:7: unquoted {{{{ a }}}}")
    assert stack.resources[0].props[0].value == [Unquoted("{{ a }}", 7), Unquoted("{{ b }}", 7)]


def test_block_props_keep_names_lines_defaults_and_descriptions(tmp_path: Path) -> None:
    _, text, stack, _ = block_stack(tmp_path)
    lines = text.splitlines()
    declared = [m.group(1) for m in re.finditer(r"^    - name: (\w+)$", text, re.M)]
    props = stack.resources[0].props
    assert [prop.name for prop in props] == declared
    assert declared[:3] == ["account_id", "app_id", "meeting_id"] and declared[-1] == "title" and len(declared) == 16
    for prop in props:
        assert lines[prop.line - 1] == f"    - name: {prop.name}"
    by_name = props_by_name(stack)
    assert (by_name["preset_name"].default, by_name["preset_name"].has_default) == ("group_call_host", True)
    assert by_name["session_keep_alive_time_in_secs"].default == 60
    assert type(by_name["session_keep_alive_time_in_secs"].default) is int
    assert by_name["live_stream_on_start"].default is False
    assert by_name["title"].has_default is False and by_name["title"].default is None
    assert by_name["title"].value == "{{ title }}"
    assert by_name["title"].description == "Title of the meeting\n"
    assert by_name["account_id"].description == "Required parameter for the meetings resource."


def test_block_nested_values_are_mappings_with_unquoted_leaves(tmp_path: Path) -> None:
    _, text, stack, _ = block_stack(tmp_path)
    by_name = props_by_name(stack)
    ai_config = by_name["ai_config"].value
    assert isinstance(ai_config, dict)
    assert set(ai_config) == {"summarization", "transcription"}
    word_limit_line = text.splitlines().index("          word_limit: {{ word_limit }}") + 1
    assert ai_config["summarization"] == {
        "summary_type": "{{ summary_type }}",
        "text_format": "{{ text_format }}",
        "word_limit": Unquoted("{{ word_limit }}", word_limit_line),
    }
    assert ai_config["transcription"]["keywords"] == ["{{ keywords }}"]
    assert ai_config["transcription"]["language"] == "{{ language }}"
    assert isinstance(ai_config["transcription"]["profanity_filter"], Unquoted)
    size = by_name["recording_config"].value["video_config"]["watermark"]["size"]
    assert [leaf.text for leaf in size.values()] == ["{{ height }}", "{{ width }}"]
    assert isinstance(by_name["session_keep_alive_time_in_secs"].value, Unquoted)


# -- 1. the manifest: errors naming the manifest and the line ------------------------------------------


MINIMAL = "name: s\nproviders: [cloudflare]\n"


@pytest.mark.parametrize(
    "text, line, message",
    [
        pytest.param(MINIMAL + "resorces: []\n", 3, "the manifest has no key 'resorces' (did you mean resources?)", id="top-key"),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    exprots: [x]\n", 5, "a resource has no key 'exprots' (did you mean exports?)",
            id="resource-key",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    props:\n      - name: p\n        valeu: 1\n", 7,
            "a prop of a has no key 'valeu' (did you mean value?)", id="prop-key",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    type: script\n", 5,
            "resource a: type script runs shell commands, which cfql deploy does not do", id="script",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    type: lambda\n", 5,
            "resource a: type must be one of resource, query, multi, command, not 'lambda'", id="unknown-type",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n  - name: b\n  - name: a\n", 6, "resource 'a' is already defined at line 4",
            id="duplicate",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    props:\n      - name: p\n        description: no value\n", 6,
            "prop p of a needs value, values or merge", id="prop-without-value",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    exports: [x]\n    protected: [y]\n", 6,
            "resource a: protected 'y' is not one of its exports", id="protected-non-export",
        ),
        pytest.param(MINIMAL + "resources:\n  - name: my-res\n", 4, "resource name 'my-res' must be a plain name", id="dash"),
        pytest.param(MINIMAL + "resources:\n  - name: my/res\n", 4, "resource name 'my/res' must be a plain name", id="slash"),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    file: ../outside.iql\n", 5,
            "resource a: file must be a path inside the stack's resources folder", id="dotdot",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    file: sub/../../outside.iql\n", 5,
            "resource a: file must be a path inside the stack's resources folder", id="dotdot-nested",
        ),
        pytest.param(
            MINIMAL + "resources:\n  - name: a\n    file: /etc/passwd\n", 5,
            "resource a: file must be a path inside the stack's resources folder", id="absolute",
        ),
        pytest.param("providers: [cloudflare]\n", 1, "name is required", id="no-name"),
    ],
)
def test_manifest_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    error = load_error(tmp_path / "s", text)
    assert error.startswith(f"{tmp_path / 's' / MANIFEST}:{line}: {message}")


def test_stack_error_is_a_programming_error(tmp_path: Path) -> None:
    """A wrong stack is the caller's mistake: DB-API's ProgrammingError, raised before anything is sent."""
    write_stack(tmp_path / "s", MINIMAL + "resorces: []\n")
    with pytest.raises(ProgrammingError):
        cfql.deploy.load_stack(tmp_path / "s")


def test_prop_with_values_or_merge_only_is_accepted(tmp_path: Path) -> None:
    """The counterpart of "needs value, values or merge": each of the three alone is enough."""
    folder = write_stack(
        tmp_path / "s",
        MINIMAL
        + "resources:\n  - name: a\n    props:\n"
        + "      - name: by_env\n        values:\n          dev: {value: 1}\n          prd: {value: 2}\n"
        + "      - name: merged\n        merge: [extra]\n"
        + "      - name: plain\n        value: 0\n",
    )
    stack, _ = load_recording(folder)
    by_name = props_by_name(stack)
    assert by_name["by_env"].values == {"dev": 1, "prd": 2}
    assert by_name["merged"].merge == ["extra"]
    assert (by_name["plain"].value, by_name["plain"].has_value) == (0, True)


def test_file_inside_resources_is_accepted(tmp_path: Path) -> None:
    folder = write_stack(tmp_path / "s", MINIMAL + "resources:\n  - name: a\n    file: sub/a.iql\n")
    stack, _ = load_recording(folder)
    (folder / "resources" / "sub").mkdir(parents=True)
    (folder / "resources" / "sub" / "a.iql").write_text("/*+ exists */\nSELECT 1 AS one;\n")
    assert list(queries.load_queries(stack, stack.resources[0])) == ["exists"]


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    # Line 4 is indented by 3 where the mapping above is at 4: column 4 is where "type" starts.
    error = load_error(tmp_path / "s", "name: s\nresources:\n  - name: a\n   type: query\n")
    assert error.startswith(f"{tmp_path / 's' / MANIFEST}:4:4: not valid YAML: ")


def test_unclosed_flow_list_names_where_yaml_gave_up(tmp_path: Path) -> None:
    error = load_error(tmp_path / "s", "name: s\nproviders: [cloudflare\n")
    assert error.startswith(f"{tmp_path / 's' / MANIFEST}:3:1: not valid YAML: expected ',' or ']'")


def test_alias_bomb_is_refused_as_too_large(tmp_path: Path) -> None:
    """Billion laughs: 9 levels of 10 aliases each would expand to 10**9 values; the count stops at MAX_NODES."""
    levels = ["  - name: l0\n    value: &l0 [x, x, x, x, x, x, x, x, x, x]\n"]
    for level in range(1, 9):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        levels.append(f"  - name: l{level}\n    value: &l{level} [{refs}]\n")
    error = load_error(tmp_path / "s", "name: s\nglobals:\n" + "".join(levels))
    assert error == f"{tmp_path / 's' / MANIFEST}: more than {MAX_NODES:,} values (with aliases expanded)"


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    folder = write_stack(tmp_path / "s", "name: s\nproviders: [cloudflare]\nglobals:\n  - name: a\n    value: &v [1, 2]\n  - name: b\n    value: *v\n")
    stack, _ = load_recording(folder)
    assert [g.value for g in stack.globals] == [[1, 2], [1, 2]]


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    error = load_error(tmp_path / "s", f"name: s\nglobals:\n  - name: g\n    value: {deep}\n")
    assert error == f"{tmp_path / 's' / MANIFEST}: nested deeper than {MAX_DEPTH} levels"


def test_nesting_too_deep_for_the_parser_is_a_stack_error(tmp_path: Path) -> None:
    """Thousands of brackets exhaust Python's recursion in the YAML composer: still a StackError, not a crash."""
    deep = "[" * 5000 + "]" * 5000
    error = load_error(tmp_path / "s", f"name: s\ndescription: {deep}\n")
    assert error == f"{tmp_path / 's' / MANIFEST}: YAML nested too deeply"


def test_moderate_nesting_loads(tmp_path: Path) -> None:
    folder = write_stack(tmp_path / "s", "name: s\nproviders: [cloudflare]\nglobals:\n  - name: g\n    value: [[[[[1]]]]]\n")
    stack, _ = load_recording(folder)
    assert stack.globals[0].value == [[[[[1]]]]]


def test_missing_folder_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r": no such stack folder$"):
        cfql.deploy.load_stack(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StackError, match=rf"empty: no {MANIFEST} in the stack folder$"):
        cfql.deploy.load_stack(tmp_path / "empty")


# -- 2. .iql files ----------------------------------------------------------------------------------


IQL = """\
-- comments before the first anchor are allowed
/*+ preflight */
SELECT id AS meeting_id
FROM t
WHERE a = '{{ a }}';

/*+ create, retries=3 */
INSERT INTO t (a) SELECT '/*+ delete */';

/*+ postdeploy, retries=5, retry_delay=2 */
SELECT count(*) AS count
FROM t
WHERE marker_statecheck = 1;

/*+ delete, postdelete_retries=7, postdelete_retry_delay=0 */
DELETE FROM t WHERE id = '{{ this.id }}';
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``needle``'s only occurrence in ``text``."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def test_anchors_and_aliases() -> None:
    parsed = parse_queries(IQL, "r.iql")
    assert list(parsed) == ["exists", "create", "statecheck", "delete"]
    assert {name: query.line for name, query in parsed.items()} == {"exists": 2, "create": 7, "statecheck": 10, "delete": 15}
    assert all(query.anchor == name and query.source == "r.iql" for name, query in parsed.items())
    assert parsed["statecheck"].where == "r.iql:10"


def test_options_are_ints_with_defaults() -> None:
    parsed = parse_queries(IQL, "r.iql")
    assert parsed["exists"].options == {}
    assert parsed["create"].options == {"retries": 3}
    assert parsed["statecheck"].options == {"retries": 5, "retry_delay": 2}
    assert parsed["delete"].options == {"postdelete_retries": 7, "postdelete_retry_delay": 0}
    assert all(type(v) is int for query in parsed.values() for v in query.options.values())
    # Defaults, as documented in queries.OPTIONS: one extra try, no delay; after delete 10 tries 5 s apart.
    defaults = {"retries": 1, "retry_delay": 0, "postdelete_retries": 10, "postdelete_retry_delay": 5}
    assert {name: queries.OPTIONS[name][0] for name in queries.OPTIONS} == defaults
    assert {name: parsed["exists"].option(name) for name in defaults} == defaults
    assert parsed["create"].option("retries") == 3 and parsed["create"].option("retry_delay") == 0
    assert parsed["delete"].option("postdelete_retry_delay") == 0  # 0 given is not "unset"


def test_query_text_keeps_the_files_line_numbers() -> None:
    """An error the renderer reports at the text's line N must be at line N of the file."""
    parsed = parse_queries(IQL, "r.iql")
    for needle, anchor in [
        ("WHERE a = '{{ a }}'", "exists"),
        ("FROM t\nWHERE a", "exists"),
        ("INSERT INTO t", "create"),
        ("marker_statecheck", "statecheck"),
        ("{{ this.id }}", "delete"),
    ]:
        assert line_of(parsed[anchor].text, needle) == line_of(IQL, needle), needle
    file_lines = IQL.splitlines()
    for query in parsed.values():
        text_lines = query.text.splitlines()
        assert all(line == "" for line in text_lines[: query.line - 1])
        # After the anchor's line, each line of the section is the file's line with the same number.
        body = text_lines[query.line :]
        assert body == file_lines[query.line : query.line + len(body)]


def test_anchor_spanning_lines_keeps_line_numbers() -> None:
    text = "/*+ create,\n    retries=3 */\nSELECT 1 AS marker;\n"
    query = parse_queries(text, "r.iql")["create"]
    assert (query.line, query.options) == (1, {"retries": 3})
    assert line_of(query.text, "marker") == 3


def test_anchor_text_inside_a_string_or_expression_is_not_an_anchor() -> None:
    parsed = parse_queries(IQL, "r.iql")
    assert "SELECT '/*+ delete */';" in parsed["create"].text
    assert "DELETE FROM t" not in parsed["create"].text
    in_jinja = parse_queries("/*+ exists */\nSELECT '{{ \"/*+ create */\" }}';\n", "j.iql")
    assert list(in_jinja) == ["exists"]


def test_anchor_names_are_case_insensitive() -> None:
    assert list(parse_queries("/*+ EXISTS */\nSELECT 1;\n/*+ PostDeploy */\nSELECT 2;\n", "r.iql")) == ["exists", "statecheck"]


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param(
            "/*+ exists */\nSELECT 1;\n/*+ callback */\nSELECT 2;\n",
            "r.iql:3: unknown anchor /*+ callback */ (cfql deploy knows exists, create, update, createorupdate, "
            "statecheck, exports, delete, command)",
            id="callback",
        ),
        pytest.param(
            "/*+ exists */\nSELECT 1;\n\n/*+ create, retires=3 */\nSELECT 2;\n",
            "r.iql:4: unknown anchor option 'retires=3' (known: retries, retry_delay, postdelete_retries, postdelete_retry_delay)",
            id="unknown-option",
        ),
        pytest.param(
            "/*+ exists, retries */\nSELECT 1;\n",
            "r.iql:1: unknown anchor option 'retries' (known: retries, retry_delay, postdelete_retries, postdelete_retry_delay)",
            id="option-without-value",
        ),
        pytest.param(
            "/*+ exists, retries=three */\nSELECT 1;\n",
            "r.iql:1: retries must be a whole number from 0 to 100, not 'three'",
            id="non-numeric",
        ),
        pytest.param(
            "/*+ exists, retry_delay=-1 */\nSELECT 1;\n",
            "r.iql:1: retry_delay must be a whole number from 0 to 3600, not '-1'",
            id="negative",
        ),
        pytest.param(
            "/*+ exists, retries=101 */\nSELECT 1;\n", "r.iql:1: retries must be a whole number from 0 to 100, not '101'", id="too-many",
        ),
        pytest.param(
            "/*+ exists, retries=\u00b2 */\nSELECT 1;\n",
            "r.iql:1: retries must be a whole number from 0 to 100, not '\u00b2'",
            id="unicode-digit",
        ),
        pytest.param(
            "/*+ exists */\nSELECT 1;\n\n/*+ preflight */\nSELECT 2;\n",
            "r.iql:4: a second /*+ exists */ (the first is at line 1)",
            id="duplicate-via-alias",
        ),
        pytest.param(
            "-- fine\nSELECT 0;\n/*+ exists */\nSELECT 1;\n",
            "r.iql:2:1: text before the first anchor (/*+ exists */, /*+ create */ ...)",
            id="text-before",
        ),
        pytest.param("/*+ exists */\n\n  \n/*+ create */\nSELECT 1;\n", "r.iql:1: /*+ exists */ has no query", id="empty-section"),
        pytest.param("/*+ exists */\nSELECT 1;\n/*+ delete */\n", "r.iql:3: /*+ delete */ has no query", id="empty-last"),
        pytest.param(
            "/*+ exists */\n-- nothing here\n/* nor here */\n/*+ create */\nSELECT 1;\n", "r.iql:1: /*+ exists */ has no query",
            id="comments-only",
        ),
        pytest.param(
            "/*+ exists */\nSELECT '{{ a }' AS x;\n/*+ create */\nSELECT 1;\n",
            "r.iql:2: {{ is not closed before the next anchor or the end", id="unclosed-placeholder-in-string",
        ),
        pytest.param(
            "/*+ exists */\nSELECT 'abc AS x;\n/*+ create */\nSELECT 1;\n",
            "r.iql:2: ' is not closed before the next anchor or the end", id="unclosed-string",
        ),
        pytest.param(
            "/*+ exists */\nSELECT 'abc AS x;\n/*+ create */\nINSERT INTO t SELECT 'a';\n/*+ delete */\nDELETE FROM t;\n",
            "r.iql:2: ' is not closed before the next anchor or the end", id="unclosed-string-a-later-quote-closes",
        ),
        pytest.param(
            '/*+ exists */\nSELECT "abc AS x;\n/*+ create */\nSELECT "a" FROM t;\n/*+ delete */\nDELETE FROM t;\n',
            'r.iql:2: " is not closed before the next anchor or the end', id="unclosed-name-a-later-quote-closes",
        ),
        pytest.param("/*+ exists */\nSELECT 1;\n/*+ create\nSELECT 2;\n", "r.iql:3: the anchor comment is not closed", id="unclosed"),
    ],
)
def test_iql_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(StackError) as caught:
        parse_queries(text, "r.iql")
    assert str(caught.value) == message


def test_inline_sql_is_a_query_on_the_manifest_line(tmp_path: Path) -> None:
    folder = write_stack(tmp_path / "s", MINIMAL + "resources:\n  - name: q\n    type: query\n    sql: SELECT 1 AS one\n")
    stack, _ = load_recording(folder)
    loaded = queries.load_queries(stack, stack.resources[0])
    assert list(loaded) == ["exports"]
    query = loaded["exports"]
    assert (query.line, query.source, query.text.strip()) == (6, stack.manifest, "SELECT 1 AS one")
    assert line_of(query.text, "SELECT 1") == 6


def test_inline_block_sql_keeps_the_files_line_numbers(tmp_path: Path) -> None:
    text = MINIMAL + "resources:\n  - name: q\n    type: query\n    sql: |\n      SELECT 1 AS one\n      FROM x WHERE a = '{{ a }}'\n"
    folder = write_stack(tmp_path / "s", text)
    stack, _ = load_recording(folder)
    query = queries.load_queries(stack, stack.resources[0])["exports"]
    assert line_of(query.text, "{{ a }}") == line_of(text, "{{ a }}") == 8


def test_query_file_missing_or_leading_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside.iql"
    outside.write_text("/*+ exists */\nSELECT 1;\n")
    folder = write_stack(tmp_path / "s", MINIMAL + "resources:\n  - name: a\n  - name: b\n    file: link.iql\n")
    (folder / "resources").mkdir()
    (folder / "resources" / "link.iql").symlink_to(outside)
    stack, _ = load_recording(folder)
    with pytest.raises(StackError) as missing:
        queries.load_queries(stack, stack.resources[0])
    assert str(missing.value) == f"{stack.manifest}:4: resource a: no query file {folder / 'resources' / 'a.iql'}"
    with pytest.raises(StackError) as escaping:
        queries.load_queries(stack, stack.resources[1])
    assert str(escaping.value) == f"{stack.manifest}:5: resource b: link.iql leads outside the stack's resources folder"


# -- 3. values -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> values.Renderer:
    return values.Renderer()


WORD_LIMIT = Unquoted("{{ word_limit }}", 46)


@pytest.mark.parametrize(
    "given, expected",
    [("500", 500), ("true", True), ("false", False), ("abc", "abc"), ("2.5", 2.5), ("null", None), ("2024-01-01", "2024-01-01")],
)
def test_unquoted_value_takes_its_yaml_type(renderer: values.Renderer, given: str, expected: object) -> None:
    result = renderer.value(WORD_LIMIT, {"word_limit": given}, "m.yml:46")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "given, expected",
    [("007", 7), ("08", 8), ("0o17", 15), ("0x1F", 31), ("1e3", 1000.0), ("-4", -4), ("TRUE", True), ("~", None), ("", None),
     ("yes", "yes"), ("on", "on"), ("1:30", "1:30"), (".inf", ".inf"), ("0b11", "0b11"), ("1_000", "1_000")],
)
def test_unquoted_values_follow_yaml_1_2_core(renderer: values.Renderer, given: str, expected: object) -> None:
    """YAML 1.2's core schema, not PyYAML's 1.1: -e x=yes stays text, 1:30 is no sexagesimal 90, 007 is 7."""
    result = renderer.value(WORD_LIMIT, {"word_limit": given}, "w")
    assert result == expected and type(result) is type(expected)


def test_unquoted_non_text_keeps_its_type(renderer: values.Renderer) -> None:
    assert renderer.value(WORD_LIMIT, {"word_limit": 42}, "w") == 42
    assert renderer.value(WORD_LIMIT, {"word_limit": {"a": [1]}}, "w") == {"a": [1]}
    # Text that YAML reads as a mapping or list is not parsed: only scalars change type.
    assert renderer.value(WORD_LIMIT, {"word_limit": "[1, 2]"}, "w") == "[1, 2]"


def test_quoted_placeholder_renders_text(renderer: values.Renderer) -> None:
    assert renderer.value("{{ x }}", {"x": 500}, "w") == "500"
    assert renderer.value("{{ x }}", {"x": None}, "w") == ""
    assert renderer.value("cfg={{ x }}", {"x": {"a": 1}}, "w") == 'cfg={"a": 1}'
    assert renderer.value("no template", {}, "w") == "no template"


def test_dict_value_renders_recursively(renderer: values.Renderer) -> None:
    value = {"summarization": {"word_limit": WORD_LIMIT, "text_format": "{{ fmt }}"}, "keywords": ["{{ kw }}", 3]}
    context = {"word_limit": "300", "fmt": "markdown", "kw": "standup"}
    assert renderer.value(value, context, "w") == {
        "summarization": {"word_limit": 300, "text_format": "markdown"},
        "keywords": ["standup", 3],
    }


def test_undefined_variable_names_it_and_where(renderer: values.Renderer) -> None:
    for value in ("{{ missing }}", Unquoted("{{ missing }}", 12)):
        with pytest.raises(values.UndefinedName) as caught:
            renderer.value(value, {"other": 1}, "stack/m.yml:12")
        assert str(caught.value) == "stack/m.yml:12: undefined template variable: missing"
        assert isinstance(caught.value, StackError)


def test_sandbox_refuses_python_internals(renderer: values.Renderer) -> None:
    for value in ("{{ ''.__class__ }}", Unquoted("{{ ''.__class__ }}", 3)):
        with pytest.raises(StackError) as caught:
            renderer.value(value, {}, "m.yml:3")
        assert str(caught.value) == "m.yml:3: template error: access to attribute '__class__' of 'str' object is unsafe"


def test_template_errors_name_where(renderer: values.Renderer) -> None:
    with pytest.raises(StackError, match=r"^m.yml:8: template syntax error: "):
        renderer.value("{{ oops", {}, "m.yml:8")
    with pytest.raises(StackError, match=r"^m.yml:9: template error: division by zero"):
        renderer.value("{{ 1 / 0 }}", {}, "m.yml:9")


def test_template_names_finds_free_names_and_attributes() -> None:
    names = values.template_names("SELECT '{{ a }}',\n'{{ meetings.meeting_id }}',\n'{{ cfg['k'] }}'")
    assert names.lines == {"a": 1, "meetings": 2, "cfg": 3}
    assert names.attributes == {("meetings", "meeting_id"), ("cfg", "k")}


def test_template_names_reads_stackqls_dot_form_in_sql() -> None:
    names = values.template_names("SELECT '{{ .title }}',\n{{ .n }}", sql=True)
    assert names.lines == {"title": 1, "n": 2}


def test_template_names_excludes_set_and_loop_variables() -> None:
    names = values.template_names("{% set b = 1 %}{{ b }}{% for item in items %}{{ item.x }}{% endfor %}{{ c }}")
    assert set(names.lines) == {"items", "c"}
    assert names.attributes == set()


def test_value_names_walks_a_manifest_value() -> None:
    names = values.value_names({"a": "{{ x }}", "b": ["{{ y.z }}"], "c": Unquoted("{{ n }}", 2), "d": 5})
    assert set(names.lines) == {"x", "y", "n"}
    assert names.attributes == {("y", "z")}


def test_merge_lists_without_repeats_and_dicts_where_the_addition_wins() -> None:
    assert values.merge(["a", "b"], ["b", "c"], "tags", "extra", "m.yml:4") == ["a", "b", "c"]
    assert values.merge({"a": 1, "b": 1}, {"b": 2, "c": 3}, "cfg", "extra", "m.yml:4") == {"a": 1, "b": 2, "c": 3}
    assert values.merge(None, [1], "tags", "extra", "m.yml:4") == [1]
    assert values.merge([1], "[1, 4]", "tags", "extra", "m.yml:4") == [1, 4]  # JSON text from -e


def test_merge_type_mismatch_names_prop_and_item() -> None:
    with pytest.raises(StackError) as caught:
        values.merge(["a"], {"b": 1}, "tags", "extra", "m.yml:4")
    assert str(caught.value) == "m.yml:4: prop tags: cannot merge dict extra into a list"
    with pytest.raises(StackError) as unreadable:
        values.merge(["a"], "not json", "tags", "extra", "m.yml:4")
    assert str(unreadable.value) == "m.yml:4: prop tags: merge item extra is not a list or mapping"


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("true", True), (" False ", False), ("TRUE", True),
        ("dev == dev", True), ("'dev' == 'prd'", False),
        ("dev != prd", True), ("dev != 'dev'", False),
        ("dev in [dev, prd]", True), ("'sit' in ['dev', 'prd']", False),
        ("sit not in [dev, prd]", True), ("dev not in [dev]", False),
    ],
)
def test_text_condition(condition: str, expected: bool, renderer: values.Renderer) -> None:
    assert values.text_condition(condition, lambda part: renderer.value(part, {}, "m.yml:9"), "m.yml:9") is expected


@pytest.mark.parametrize(
    "condition, given, expected",
    [
        ("'{{ title }}' == 'sign in page'", "sign in page", True),  # ' in ' inside the text is no operator
        ("'{{ x }}' == 'prd'", "dev' != 'zzz", False),  # a value cannot bring its own operator
        ("'{{ x }}' in ['dev', 'qa']", "qa", True),
        ("{{ x }}", "true", True),
        ("'{{ x }}' in ['a != b']", "dev", False),  # an operator inside a string literal is no operator
        ('"{{ x }}" == "a in [b]"', "a in [b]", True),
        ("'{{ x }}' not in ['a == b', 'qa']", "dev", True),
        ("{% if x == 'dev' %}true{% else %}false{% endif %}", "dev", True),  # nor is a block's own test
        ("{% if x == 'dev' %}true{% else %}false{% endif %}", "qa", False),
        ("{% if x != 'dev' %}qa{% else %}dev{% endif %} == dev", "dev", True),
    ],
)
def test_text_condition_renders_each_side_alone(condition: str, given: str, expected: bool, renderer: values.Renderer) -> None:
    assert values.text_condition(condition, lambda part: renderer.value(part, {"x": given, "title": given}, "w"), "w") is expected


@pytest.mark.parametrize("condition", ["maybe", "dev in prd", "1 < 2"])
def test_unreadable_condition_names_where(condition: str) -> None:
    with pytest.raises(StackError) as caught:
        values.text_condition(condition, lambda part: part, "m.yml:9")
    assert str(caught.value).startswith(f"m.yml:9: cannot read the condition {condition!r}")


def test_filters() -> None:
    filters = values.FILTERS
    assert set(filters) == {"from_json", "base64_encode", "merge_lists", "merge_objects", "generate_patch_document"}
    assert filters["from_json"]('{"a": [1, 2]}') == {"a": [1, 2]}
    assert filters["from_json"]({"a": 1}) == {"a": 1}  # already a value: unchanged
    assert filters["base64_encode"]("hello") == base64.b64encode(b"hello").decode() == "aGVsbG8="
    assert filters["merge_lists"]([1, 2], [2, 3]) == [1, 2, 3]
    assert filters["merge_lists"]("[1, 2]", "[2, 3]") == [1, 2, 3]
    assert filters["merge_objects"]({"a": 1}, {"a": 2, "b": 3}) == {"a": 2, "b": 3}
    patch = json.loads(filters["generate_patch_document"]({"b": 2, "a": {"x": 1}}))
    assert patch == [{"op": "add", "path": "/a", "value": {"x": 1}}, {"op": "add", "path": "/b", "value": 2}]


def test_filters_work_inside_templates(renderer: values.Renderer) -> None:
    context = {"xs": [1, 2], "ys": [2, 3], "s": "hi"}
    assert renderer.value(Unquoted("{{ xs | merge_lists(ys) }}", 1), context, "w") == [1, 2, 3]
    assert renderer.value("{{ s | base64_encode }}", context, "w") == "aGk="


# -- 4. env files ----------------------------------------------------------------------------------


def test_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n"
        "\n"
        "ACCOUNT=acc-1\n"
        "export APP = app 1\n"
        'TITLE="Standup # not a comment"\n'
        "SINGLE='one'\n"
        "TRAILING=value # a comment\n"
        "EMPTY=\n"
        "EQUALS=a=b\n",
        encoding="utf-8",
    )
    assert cfql.deploy.load_env_file(path) == {
        "ACCOUNT": "acc-1",
        "APP": "app 1",
        "TITLE": "Standup # not a comment",
        "SINGLE": "one",
        "TRAILING": "value",
        "EMPTY": "",
        "EQUALS": "a=b",
    }


@pytest.mark.parametrize("text, line", [("A=1\nnot a line\n", 2), ("A=1\n\n1X=2\n", 3), ("=v\n", 1), ("export\n", 1)])
def test_env_file_bad_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "vars.env"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StackError) as caught:
        cfql.deploy.load_env_file(path)
    assert str(caught.value) == f"{path}:{line}: expected NAME=VALUE"


# -- 5. SELECT's column names ---------------------------------------------------------------------------


def test_select_names() -> None:
    assert select_names("SELECT id AS meeting_id, title FROM x WHERE a = '{{ a }}'") == {"meeting_id", "title"}
    assert select_names("SELECT count(*) AS count FROM x WHERE n = {{ n }}") == {"count"}
    assert select_names("SELECT id FROM x {% if a %}WHERE b = 1{% endif %}") == {"id"}


def test_select_names_unknown() -> None:
    assert select_names("SELECT * FROM x WHERE a = '{{ a }}'") is None
    assert select_names("DELETE FROM x WHERE a = 1") is None


# -- 6. init -----------------------------------------------------------------------------------------


def tree(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8") for path in folder.rglob("*") if path.is_file()}


def test_init_writes_the_example_stack_under_its_name(tmp_path: Path) -> None:
    made = cfql.deploy.init("standup-stack", tmp_path)
    assert made == tmp_path / "standup-stack"
    written = tree(made)
    assert set(written) == {MANIFEST, "resources/meetings.iql", "resources/meeting_host.iql"}
    example = tree(EXAMPLE)
    assert set(example) == set(written)
    manifest_lines = example[MANIFEST].splitlines(keepends=True)
    assert manifest_lines.count("name: meetings-stack\n") == 1
    example[MANIFEST] = "".join("name: standup-stack\n" if line == "name: meetings-stack\n" else line for line in manifest_lines)
    for name in written:
        assert written[name] == example[name], name
    stack, _ = load_recording(made)
    assert stack.name == "standup-stack"


def test_init_refuses_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(StackError) as caught:
        cfql.deploy.init("taken", tmp_path)
    assert str(caught.value) == f"{tmp_path / 'taken'}: already exists (init writes a new stack folder)"
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("name", ["", "-x", "a/b", "..", "a b", ".hidden", "x" * 101])
def test_init_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(StackError) as caught:
        cfql.deploy.init(name, tmp_path)
    assert str(caught.value) == f"stack name {name!r}: use letters, digits, - and _ (it names the folder)"
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_an_unknown_provider(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"name a provider with a starter stack: cloudflare$"):
        cfql.deploy.init("s", tmp_path, provider="nope")
    assert not (tmp_path / "s").exists()


# -- 7. the example holds the reference block unchanged ---------------------------------------------------


def test_example_manifest_contains_the_reference_block_unchanged() -> None:
    block = BLOCK_FILE.read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(block) if line.startswith("# Description fields"))
    run = block[start:]
    assert run[1] == "- name: meetings" and run[-1].strip() == "Title of the meeting"
    example = (EXAMPLE / MANIFEST).read_text(encoding="utf-8").splitlines()
    found = [index for index in range(len(example) - len(run) + 1) if example[index : index + len(run)] == run]
    assert len(found) == 1


def test_a_value_that_would_grow_without_bound_is_stopped(renderer: values.Renderer) -> None:
    """Each loop is bounded, but loops nest: the rendered value itself is bounded too."""
    huge = "{% for i in range(100000) %}{% for j in range(100) %}{{ 'x' * 5000 }}{% endfor %}{% endfor %}"
    with pytest.raises(StackError, match=r"^m\.yml:3: the value would be larger than 10,000,000 characters$"):
        renderer.value(huge, {}, "m.yml:3")

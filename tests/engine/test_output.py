"""Output formats for whole runs: every format shows a statement without rows, and json stays one document."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfql.result import Result
from cfql.rows.output import FORMATS, Output, format_table, render

ROWS = Result(["name", "n"], [{"name": "a", "n": 1}, {"name": "b\nc", "n": None}])
EMPTY_SELECT = Result(["name", "n"], [])
NO_COLUMNS = Result([], message="The operation was despatched successfully")


def written(fmt: str, results: list[Result | None], headers: bool = True, failures: int | None = None) -> str:
    """What Output writes for ``results`` in order (None: that statement failed)."""
    out = io.StringIO()
    output = Output(fmt, out, headers, len(results))
    for index, result in enumerate(results):
        if result is not None:
            output.result(result, index)
    output.close(sum(r is None for r in results) if failures is None else failures)
    return out.getvalue()


@pytest.mark.parametrize("result", [EMPTY_SELECT, NO_COLUMNS], ids=["select-without-rows", "no-columns"])
def test_a_statement_without_rows_is_an_empty_array_in_json(result: Result) -> None:
    assert json.loads(written("json", [result])) == []
    assert json.loads(written("json", [result, result])) == [[], []]


def test_a_select_without_rows_prints_its_header_line_in_csv_and_text_unless_hidden() -> None:
    assert written("csv", [EMPTY_SELECT]) == "name,n\n"
    assert written("text", [EMPTY_SELECT]) == "name\tn\n"
    assert written("csv", [EMPTY_SELECT], headers=False) == ""
    assert written("jsonl", [EMPTY_SELECT]) == ""
    assert "| name | n |" in written("table", [EMPTY_SELECT])


def test_a_statement_without_columns_shows_its_message_where_a_format_has_room_for_it() -> None:
    assert written("table", [NO_COLUMNS]) == written("text", [NO_COLUMNS]) == "The operation was despatched successfully\n"
    assert written("csv", [NO_COLUMNS]) == written("jsonl", [NO_COLUMNS]) == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_each_kind_of_result(fmt: str) -> None:
    for result in (ROWS, EMPTY_SELECT, NO_COLUMNS):
        out = io.StringIO()
        render(result, fmt, out)
        text = out.getvalue()
        if fmt == "json":
            assert json.loads(text) == [{c: row.get(c) for c in result.columns} for row in result.rows]
        if fmt == "csv" and result.columns:
            assert next(csv.reader(io.StringIO(text))) == result.columns


def test_one_statement_prints_its_array_of_rows_as_before() -> None:
    assert written("json", [ROWS]) == json.dumps([{"name": "a", "n": 1}, {"name": "b\nc", "n": None}], indent=2) + "\n"


def test_several_statements_print_one_array_of_arrays_byte_for_byte_as_json_dumps() -> None:
    text = written("json", [ROWS, EMPTY_SELECT, NO_COLUMNS])
    entries = [[{"name": "a", "n": 1}, {"name": "b\nc", "n": None}], [], []]
    assert text == json.dumps(entries, indent=2) + "\n"


def test_failed_statements_are_null_so_entries_stay_in_script_order() -> None:
    assert json.loads(written("json", [ROWS, None, EMPTY_SELECT])) == [json.loads(written("json", [ROWS])), None, []]
    assert json.loads(written("json", [None])) is None  # a single statement that failed
    assert json.loads(written("json", [ROWS, None])) == [json.loads(written("json", [ROWS])), None]


def test_a_run_stopped_early_still_closes_the_document() -> None:
    out = io.StringIO()
    output = Output("json", out, True, 5)
    output.result(ROWS, 0)
    output.close()  # e.g. Ctrl-C after the first statement: the rest never started
    assert json.loads(out.getvalue()) == [json.loads(written("json", [ROWS]))]
    output.close()  # closing twice writes nothing more
    assert out.getvalue().count("]") == out.getvalue().count("[")


def test_a_script_without_statements_is_an_empty_array() -> None:
    assert json.loads(written("json", [])) == []


def test_the_document_is_written_as_results_come() -> None:
    out = io.StringIO()
    output = Output("json", out, True, 2)
    output.result(ROWS, 0)
    assert out.getvalue().startswith("[\n  [\n")  # already on its way before the second statement ends
    output.result(ROWS, 1)
    output.close()
    assert len(json.loads(out.getvalue())) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from([ROWS, EMPTY_SELECT, NO_COLUMNS])), max_size=6),
    st.sampled_from(FORMATS),
)
def test_json_output_is_always_one_document(results: list[Result | None], fmt: str) -> None:
    text = written(fmt, results)
    if fmt == "json":
        document = json.loads(text)
        if len(results) == 1:
            assert document is None or isinstance(document, list)
        else:
            assert len(document) == len(results)
            assert [entry is None for entry in document] == [result is None for result in results]


def test_a_cell_with_line_breaks_takes_as_many_lines_of_its_row() -> None:
    result = Result(["method", "template"], [{"method": "create", "template": "INSERT INTO r (\na\n)"}, {"method": "x", "template": "y"}])
    assert format_table(result) == (
        "+--------+-----------------+\n"
        "| method | template        |\n"
        "|--------+-----------------|\n"
        "| create | INSERT INTO r ( |\n"
        "|        | a               |\n"
        "|        | )               |\n"
        "| x      | y               |\n"
        "+--------+-----------------+\n"
    )

"""Rendering results: table, json, jsonl, csv and text, one writer per format.

Nested values (objects, arrays) are written as JSON in every format, so what
comes back from the API can be pasted into the next statement unchanged.
"""

from __future__ import annotations

import csv
import json
import typing as t

from cfql.result import Result

FORMATS = ("table", "json", "jsonl", "csv", "text")


def cell(value: t.Any) -> str:
    """A value as text: JSON for structures and booleans, empty for NULL."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(result: Result, fmt: str, out: t.TextIO, headers: bool = True) -> None:
    if not result.columns:
        if result.message and fmt in ("table", "text"):
            out.write(result.message + "\n")
        return
    _WRITERS[fmt](result, out, headers)


def _json(result: Result, out: t.TextIO, headers: bool) -> None:
    rows = [{c: row.get(c) for c in result.columns} for row in result.rows]
    out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


def _jsonl(result: Result, out: t.TextIO, headers: bool) -> None:
    for row in result.rows:
        out.write(json.dumps({c: row.get(c) for c in result.columns}, ensure_ascii=False) + "\n")


def _csv(result: Result, out: t.TextIO, headers: bool) -> None:
    writer = csv.writer(out, lineterminator="\n")
    if headers:
        writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([cell(row.get(c)) for c in result.columns])


def _text(result: Result, out: t.TextIO, headers: bool) -> None:
    if headers:
        out.write("\t".join(result.columns) + "\n")
    for row in result.rows:
        out.write("\t".join(cell(row.get(c)).replace("\t", " ").replace("\n", " ") for c in result.columns) + "\n")


def _table(result: Result, out: t.TextIO, headers: bool) -> None:
    out.write(format_table(result, headers))


def format_table(result: Result, headers: bool = True) -> str:
    """A psql-style grid (line breaks inside a cell shown as spaces)."""
    columns = result.columns
    body = [[cell(row.get(c)).replace("\n", " ") for c in columns] for row in result.rows]
    widths = [len(c) if headers else 0 for c in columns]
    for row in body:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    if headers:
        lines.append("|" + "|".join(f" {c:<{w}} " for c, w in zip(columns, widths)) + "|")
        lines.append("|" + "+".join("-" * (w + 2) for w in widths) + "|")
    for row in body:
        lines.append("|" + "|".join(f" {v:<{w}} " for v, w in zip(row, widths)) + "|")
    lines.append(rule)
    return "\n".join(lines) + "\n"


_WRITERS: dict[str, t.Callable[[Result, t.TextIO, bool], None]] = {
    "table": _table,
    "json": _json,
    "jsonl": _jsonl,
    "csv": _csv,
    "text": _text,
}

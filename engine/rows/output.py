"""Rendering results: table, json, jsonl, csv and text, one writer per format.

Nested values (objects, arrays) are written as JSON in every format, so what
comes back from the API can be pasted into the next statement unchanged.
A run of several statements goes through ``Output``, which keeps ``json``
one document however the run ends.
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
    """One result on its own: a statement without columns is its message (table, text) or ``[]`` (json)."""
    if not result.columns:
        if result.message and fmt in ("table", "text"):
            out.write(result.message + "\n")
        elif fmt == "json":
            out.write("[]\n")
        return
    _WRITERS[fmt](result, out, headers)


class Output:
    """A run's results in one format, written as each statement finishes.

    With ``-o json`` the whole of stdout is one JSON document: a single
    statement prints its array of rows (``[]`` when it returns none, ``null``
    when it failed); several statements print an array holding one such
    entry per statement, in script order, through the last one that
    finished (statements that never started are left out). The document is
    written as results come (``[`` before the first entry, ``]`` from
    ``close``), byte for byte what ``json.dumps(entries, indent=2)`` gives.
    The other formats write each result as ``render`` does.
    """

    def __init__(self, fmt: str, out: t.TextIO, headers: bool = True, statements: int = 1):
        self.fmt = fmt
        self.out = out
        self.headers = headers
        self.statements = statements
        self.nested = fmt == "json" and statements != 1
        self.next = 0  # the index of the statement after the last one accounted for
        self.gaps = 0  # statements skipped over: they failed
        self.entries = 0
        self.closed = False

    def result(self, result: Result, index: int | None = None) -> None:
        """Statement ``index``'s result (default: the next one); those passed over count as failed."""
        index = self.next if index is None else index
        while self.next < index:
            self.next += 1
            self.gaps += 1
            self._failed()
        self.next = index + 1
        if self.fmt == "json":
            self._entry(_json_rows(result))
        else:
            render(result, self.fmt, self.out, self.headers)

    def close(self, failures: int = 0) -> None:
        """Finish the output of a run in which ``failures`` statements failed, wherever they stand."""
        if self.closed:
            return
        for _ in range(min(max(failures - self.gaps, 0), self.statements - self.next)):
            self.next += 1
            self._failed()
        self.closed = True
        if self.fmt == "json":
            if self.nested:
                self.out.write("\n]\n" if self.entries else "[]\n")
            elif not self.entries:
                self.out.write("null\n")

    def _failed(self) -> None:
        if self.fmt == "json":
            self._entry(None)

    def _entry(self, value: t.Any) -> None:
        if self.closed or (self.entries and not self.nested):
            raise ValueError("the JSON document is already complete")
        text = json.dumps(value, ensure_ascii=False, indent=2)
        if self.nested:
            text = ("[\n" if not self.entries else ",\n") + "\n".join("  " + line for line in text.split("\n"))
        else:
            text += "\n"
        self.out.write(text)
        self.entries += 1


def _json_rows(result: Result) -> list[dict[str, t.Any]]:
    return [{c: row.get(c) for c in result.columns} for row in result.rows]


def _json(result: Result, out: t.TextIO, headers: bool) -> None:
    out.write(json.dumps(_json_rows(result), ensure_ascii=False, indent=2) + "\n")


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
    """A psql-style grid; a cell holding line breaks takes as many lines of its row (an INSERT template
    from ``SHOW INSERT INTO`` reads as written), the other cells of the row left blank below their text."""
    columns = result.columns
    body = [[cell(row.get(c)).split("\n") for c in columns] for row in result.rows]
    widths = [len(c) if headers else 0 for c in columns]
    for row in body:
        widths = [max(w, *(len(line) for line in v)) for w, v in zip(widths, row)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    if headers:
        lines.append("|" + "|".join(f" {c:<{w}} " for c, w in zip(columns, widths)) + "|")
        lines.append("|" + "+".join("-" * (w + 2) for w in widths) + "|")
    for row in body:
        for n in range(max(len(v) for v in row) if row else 1):
            lines.append("|" + "|".join(f" {v[n] if n < len(v) else '':<{w}} " for v, w in zip(row, widths)) + "|")
    lines.append(rule)
    return "\n".join(lines) + "\n"


_WRITERS: dict[str, t.Callable[[Result, t.TextIO, bool], None]] = {
    "table": _table,
    "json": _json,
    "jsonl": _jsonl,
    "csv": _csv,
    "text": _text,
}

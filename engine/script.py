"""Running several statements in order without ever losing track of what ran.

Every statement is parsed and resolved before the first request, so a typo
on the last line fails before the first line changes anything. When a
statement fails, the error says where it is and how many already ran.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from engine.connection import Connection
from engine.dialect import split_statements
from engine.errors import Error
from engine.plan import Plan
from engine.result import Result


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int
    plan: Plan


class ScriptError(Error):
    """A statement of a script failed; says where, and how many statements had completed."""

    def __init__(self, source: str, statement: Statement | None, line: int, cause: Error, completed: int, total: int):
        self.source = source
        self.statement = statement
        self.line = line
        self.cause = cause
        self.completed = completed
        self.total = total
        ran = f"; {completed} of {total} statements ran before it" if total else ""
        super().__init__(f"{source}:{line}: {cause}{ran}")


def prepare(conn: Connection, text: str, source: str = "<input>") -> list[Statement]:
    """Parse and resolve every statement up front; the first problem raises ScriptError."""
    statements = []
    line = 1
    try:
        for sql, line in split_statements(text):
            statements.append(Statement(sql, line, conn.plans.get(sql, line_offset=line - 1)))
    except Error as error:
        raise ScriptError(source, None, getattr(error, "line", None) or line, error, 0, 0) from error
    return statements


def run(
    conn: Connection,
    statements: t.Sequence[Statement],
    source: str = "<input>",
    on_result: t.Callable[[Statement, Result], None] | None = None,
) -> list[Result]:
    """Run prepared statements in order, handing each result over as soon as it exists."""
    results = []
    for index, statement in enumerate(statements):
        try:
            result = statement.plan.run(conn.session)
        except Error as error:
            raise ScriptError(source, statement, statement.line, error, index, len(statements)) from error
        results.append(result)
        if on_result is not None:
            on_result(statement, result)
    return results

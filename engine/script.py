"""Running several statements in order without ever losing track of what ran.

A script is rendered (templates), split, parsed and resolved as a whole
before the first request, so a typo on line 90 fails before line 1 changes
anything; a ``:param`` that no earlier statement sets fails then too. While it
runs, each statement's ``RETURNING`` columns (one row) become bind parameters
of the statements after it, and each result is handed over as soon as it exists.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from engine.dialect import split_statements
from engine.errors import Error, ProgrammingError
from engine.plan import CallPlan, Deferred, Plan
from engine.result import Result
from engine.templates import has_template, render

if t.TYPE_CHECKING:
    from engine.connection import Connection


@dataclass(frozen=True)
class Statement:
    sql: str
    line: int
    plan: Plan

    @property
    def provides(self) -> frozenset[str]:
        """Names this statement's RETURNING sets for later statements."""
        plan = self.plan
        if isinstance(plan, CallPlan) and plan.projection is not None and not plan.projection.star:
            return frozenset(plan.projection.names)
        return frozenset()

    @property
    def needs(self) -> frozenset[str]:
        return self.plan.bind_names

    def excerpt(self, width: int = 80) -> str:
        text = " ".join(self.sql.split())
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Script:
    source: str
    statements: list[Statement]


class ScriptError(Error):
    """A script could not be prepared, or a statement of it failed; says where and what had run."""

    def __init__(self, source: str, line: int | str, cause: Error, statement: Statement | None = None, completed: int | None = None, total: int = 0):
        self.source = source
        self.line = line
        self.cause = cause
        self.statement = statement
        self.completed = completed
        self.total = total
        where = f" [in: {statement.excerpt()}]" if statement else ""
        ran = f"; {completed} of {total} statements ran before it" if completed is not None else ""
        message = str(cause)
        if not message.startswith(f"{source}:"):
            message = f"{source}:{line}: {message}"
        super().__init__(f"{message}{where}{ran}")


@dataclass
class Summary:
    """What a run did: counts, and the failures with their locations."""

    total: int
    succeeded: int = 0
    failures: list[ScriptError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        return f"{self.succeeded} of {self.total} statements succeeded, {len(self.failures)} failed"


def prepare(
    conn: Connection,
    text: str,
    source: str = "<input>",
    variables: t.Mapping[str, t.Any] | None = None,
    params: t.Iterable[str] = (),
) -> Script:
    """Render, parse and resolve every statement; check every ``:param`` has an earlier source."""
    if has_template(text):
        try:
            text = render(text, variables or {}, source)
        except Error as error:
            raise ScriptError(source, "?", error) from None
    statements: list[Statement] = []
    available = set(params)
    line = 1
    try:
        for sql, line in split_statements(text):
            statement = Statement(sql, line, conn.plans.get(sql, line_offset=line - 1))
            missing = sorted(statement.needs - available)
            if missing:
                raise ProgrammingError(
                    f"statement {len(statements) + 1} uses :{missing[0]}, which no earlier statement sets "
                    f"(add RETURNING ... AS {missing[0]} to one, or pass it as a parameter)"
                )
            available |= statement.provides
            statements.append(statement)
    except ScriptError:
        raise
    except Error as error:
        raise ScriptError(source, getattr(error, "line", None) or line, error) from None
    return Script(source, statements)


def run(
    conn: Connection,
    script: Script,
    params: t.Mapping[str, t.Any] | None = None,
    on_result: t.Callable[[Statement, Result], None] | None = None,
    continue_on_error: bool = False,
    on_progress: t.Callable[[int, int], None] | None = None,
) -> Summary:
    """Run the statements in order; stop at the first failure unless ``continue_on_error``.

    A statement whose parameters come from a failed statement is reported as
    failed too rather than sent with a missing value.
    """
    values = dict(params or {})
    poisoned: dict[str, Statement] = {}
    summary = Summary(total=len(script.statements))
    for index, statement in enumerate(script.statements):
        try:
            blocked = sorted(statement.needs & poisoned.keys())
            if blocked:
                origin = poisoned[blocked[0]]
                raise ProgrammingError(f"skipped: :{blocked[0]} comes from the failed statement at line {origin.line}")
            result = statement.plan.run(conn.session, values)
            _collect(statement, result, values, script.statements[index + 1 :], conn.settings.dry_run)
        except Error as error:
            failure = ScriptError(script.source, statement.line, error, statement, index, summary.total)
            summary.failures.append(failure)
            for name in statement.provides:
                poisoned[name] = statement
            if not continue_on_error:
                raise failure from error
        else:
            summary.succeeded += 1
            if on_result is not None:
                on_result(statement, result)
        if on_progress is not None:
            on_progress(index + 1, len(summary.failures))
    return summary


def _collect(
    statement: Statement, result: Result, values: dict[str, t.Any], later: t.Sequence[Statement], dry_run: bool
) -> None:
    """Make RETURNING columns available as ``:name``; a later statement needs exactly one row."""
    provided = statement.provides
    if not provided:
        return
    if dry_run:  # nothing came back: later requests show the name instead
        values.update({name: Deferred(name) for name in provided})
        return
    if len(result.rows) == 1:
        values.update({name: result.rows[0].get(name) for name in provided})
        return
    wanted = sorted(provided & set().union(*(s.needs for s in later))) if later else []
    if wanted:
        raise ProgrammingError(
            f"RETURNING gave {len(result.rows)} rows, but :{wanted[0]} for a later statement needs exactly one"
        )

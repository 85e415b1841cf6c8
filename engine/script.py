"""Running several statements in order without ever losing track of what ran.

A script is rendered (templates), split, parsed and resolved as a whole
before the first request, so a typo on line 90 fails before line 1 changes
anything; a ``:param`` that no earlier statement sets fails then too. While it
runs, each statement's ``RETURNING`` columns (one row) become bind parameters
of the statements after it, and each result is handed over as soon as it exists.
"""

from __future__ import annotations

import typing as t
import heapq
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from engine.dialect import split_statements
from engine.errors import Error, ProgrammingError
from engine.plan import Deferred, Plan
from engine.redact import redact_statement
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
        """Names this statement's RETURNING (or SELECT list) sets for later statements."""
        return self.plan.provides

    @property
    def needs(self) -> frozenset[str]:
        return self.plan.bind_names

    def excerpt(self, width: int = 80) -> str:
        text = " ".join(redact_statement(self.sql, self.plan).split())
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
    concurrency: int = 1,
) -> Summary:
    """Run the statements, up to ``concurrency`` at a time over the connection's pooled client.

    A statement that uses ``:name`` starts only after the statement that sets
    it has finished; results are handed to ``on_result`` in script order
    whatever order they finish in. The first failure stops new statements from
    starting (those already in flight finish) unless ``continue_on_error``; a
    statement whose parameters come from a failed one is reported as failed
    rather than sent with a missing value.
    """
    statements = script.statements
    summary = Summary(total=len(statements))
    values = dict(params or {})
    waiting_on = _dependencies(statements)
    unblocks: list[list[int]] = [[] for _ in statements]
    for index, deps in enumerate(waiting_on):
        for dep in deps:
            unblocks[dep].append(index)
    remaining = [len(deps) for deps in waiting_on]
    ready = [i for i, n in enumerate(remaining) if n == 0]  # a heap: lowest line first
    outcomes: dict[int, Result | ScriptError] = {}
    failed: set[int] = set()
    emitted = finished = 0
    stopping = False

    def execute(index: int, bound: dict[str, t.Any]) -> Result:
        return statements[index].plan.run(conn.session, bound)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="cfql") as pool:
        running: dict[Future[Result], int] = {}
        while ready or running:
            while ready and len(running) < max(1, concurrency) and not stopping:
                index = heapq.heappop(ready)
                blocked = waiting_on[index] & failed
                if blocked:
                    origin = statements[min(blocked)]
                    cause = ProgrammingError(f"skipped: it needs a value from the failed statement at line {origin.line}")
                    outcomes[index] = ScriptError(script.source, statements[index].line, cause, statements[index], summary.succeeded, summary.total)
                    failed.add(index)
                    finished += 1
                    _push(ready, _release(index, unblocks, remaining))
                    continue
                running[pool.submit(execute, index, dict(values))] = index
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=running.__getitem__):
                index = running.pop(future)
                statement = statements[index]
                try:
                    result = future.result()
                    _collect(statement, result, values, statements[index + 1 :], conn.settings.dry_run)
                    outcomes[index] = result
                    summary.succeeded += 1
                except Error as error:
                    outcomes[index] = ScriptError(script.source, statement.line, error, statement, summary.succeeded, summary.total)
                    failed.add(index)
                    stopping = stopping or not continue_on_error
                finished += 1
                _push(ready, _release(index, unblocks, remaining))
            while emitted in outcomes:
                outcome = outcomes.pop(emitted)
                if isinstance(outcome, ScriptError):
                    summary.failures.append(outcome)
                elif on_result is not None:
                    on_result(statements[emitted], outcome)
                emitted += 1
            if on_progress is not None:
                on_progress(finished, len(failed))
    for index in sorted(outcomes):  # finished after an earlier statement failed and stopped the run
        outcome = outcomes[index]
        if isinstance(outcome, ScriptError):
            summary.failures.append(outcome)
        elif on_result is not None:
            on_result(statements[index], outcome)
    if summary.failures and not continue_on_error:
        first = summary.failures[0]
        first.completed = summary.succeeded
        raise ScriptError(first.source, first.line, first.cause, first.statement, summary.succeeded, summary.total)
    return summary


def _dependencies(statements: t.Sequence[Statement]) -> list[set[int]]:
    """For each statement, the earlier statements that set the ``:params`` it uses (the latest setter wins)."""
    setter: dict[str, int] = {}
    deps: list[set[int]] = []
    for index, statement in enumerate(statements):
        deps.append({setter[name] for name in statement.needs if name in setter})
        for name in statement.provides:
            setter[name] = index
    return deps


def _push(heap: list[int], items: t.Iterable[int]) -> None:
    for item in items:
        heapq.heappush(heap, item)


def _release(index: int, unblocks: list[list[int]], remaining: list[int]) -> list[int]:
    """Statements that become runnable now that ``index`` has finished."""
    released = []
    for dependent in unblocks[index]:
        remaining[dependent] -= 1
        if remaining[dependent] == 0:
            released.append(dependent)
    return released


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

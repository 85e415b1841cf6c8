"""Running several statements in order without ever losing track of what ran.

A script is rendered (templates), split, parsed and resolved as a whole
before the first request, so a typo on line 90 fails before line 1 changes
anything; a ``:param`` that no earlier statement sets fails then too. While it
runs, each statement's ``RETURNING`` columns (one row) become bind parameters
of the statements after it, and each result is handed over as soon as it exists.
"""

from __future__ import annotations

import heapq
import queue
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cfql.errors import Error, Interrupted, ProgrammingError
from cfql.plan.plans import Deferred, Plan
from cfql.redact import plan_secrets, redact_statement
from cfql.result import Result
from cfql.script.templates import has_template, render
from cfql.sql.dialect import iter_statements

if t.TYPE_CHECKING:
    from cfql.connection import Connection


# Plans kept from preparation for the run. Past this many statements a script's
# plans are re-made as they run (parsing twice), so memory stays flat however
# long the script is.
KEEP_PLANS = 1000


@dataclass(frozen=True, slots=True)
class Statement:
    """One prepared statement: where it is, what it needs and provides, and (usually) its plan.

    Its text is a span of the script's text rather than a copy, and equal
    ``needs``/``provides`` sets are shared: a 10,000-statement script then
    costs little more than its text.
    """

    script_text: str = field(repr=False)
    start: int
    end: int
    line: int
    needs: frozenset[str]
    provides: frozenset[str]
    plan: Plan | None

    @property
    def sql(self) -> str:
        return self.script_text[self.start : self.end]

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
    shared: dict[frozenset[str], frozenset[str]] = {}
    line = 1
    try:
        for piece in iter_statements(text):
            line = piece.line
            plan = conn.plans.get(piece.sql, line_offset=line - 1, piece=piece)
            missing = sorted(plan.bind_names - available)
            if missing:
                raise ProgrammingError(
                    f"statement {len(statements) + 1} uses :{missing[0]}, which no earlier statement sets "
                    f"(add RETURNING ... AS {missing[0]} to one, or pass it as a parameter)"
                )
            available |= plan.provides
            # A plan with secrets is always kept: error excerpts mask them from it.
            kept = plan if len(statements) < KEEP_PLANS or plan_secrets(plan) else None
            needs = shared.setdefault(plan.bind_names, plan.bind_names)
            provides = shared.setdefault(plan.provides, plan.provides)
            end = piece.start + len(piece.sql)
            statements.append(Statement(text, piece.start, end, line, needs, provides, kept))
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
    waiting_on, unblocks = _dependencies(statements)
    remaining = {index: len(deps) for index, deps in enumerate(waiting_on) if deps}
    ready = [index for index in range(len(statements)) if index not in remaining]  # a heap: lowest line first
    outcomes: dict[int, Result | ScriptError] = {}
    failed: set[int] = set()
    finished: queue.SimpleQueue[tuple[int, Result | Exception]] = queue.SimpleQueue()
    emitted = done = running = 0
    stopping = False
    workers = max(1, concurrency)

    def execute(index: int, plan: Plan, bound: dict[str, t.Any]) -> None:
        try:
            finished.put((index, plan.run(conn.session, bound)))
        except Exception as error:  # handed to the main thread, which must never wait forever
            finished.put((index, error))

    def fail(index: int, error: Error) -> None:
        outcomes[index] = ScriptError(script.source, statements[index].line, error, statements[index], summary.succeeded, summary.total)
        failed.add(index)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cfql")
    try:
        while ready or running:
            while ready and running < workers and not stopping:
                index = heapq.heappop(ready)
                statement = statements[index]
                blocked = waiting_on[index] & failed
                try:
                    if blocked:
                        origin = statements[min(blocked)]
                        raise ProgrammingError(f"skipped: it needs a value from the failed statement at line {origin.line}")
                    plan = statement.plan or conn.plans.get(statement.sql, line_offset=statement.line - 1)
                except Error as error:
                    fail(index, error)
                    done += 1
                    _release(index, unblocks, remaining, ready)
                    continue
                pool.submit(execute, index, plan, dict(values))
                running += 1
            if not running:
                break
            index, outcome = finished.get()
            running -= 1
            done += 1
            if isinstance(outcome, Exception) and not isinstance(outcome, Error):
                raise outcome  # a bug, not a failed statement: let it surface as one
            try:
                if isinstance(outcome, Error):
                    raise outcome
                _collect(statements[index], outcome, values, [statements[d] for d in unblocks.get(index, ())], conn.settings.dry_run)
                outcomes[index] = outcome
                summary.succeeded += 1
            except Error as error:
                fail(index, error)
                stopping = stopping or not continue_on_error
            _release(index, unblocks, remaining, ready)
            while emitted in outcomes:
                _emit(summary, statements[emitted], outcomes.pop(emitted), on_result)
                emitted += 1
            if on_progress is not None:
                on_progress(done, len(failed))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        line = statements[emitted].line if emitted < len(statements) else "?"
        raise ScriptError(script.source, line, Interrupted("interrupted"), None, summary.succeeded, summary.total) from None
    finally:
        pool.shutdown(wait=True)
    for index in sorted(outcomes):  # finished after an earlier statement failed and stopped the run
        _emit(summary, statements[index], outcomes[index], on_result)
    if summary.failures and not continue_on_error:
        first = summary.failures[0]
        raise ScriptError(first.source, first.line, first.cause, first.statement, summary.succeeded, summary.total)
    return summary


def _emit(summary: Summary, statement: Statement, outcome: Result | ScriptError, on_result: t.Callable[[Statement, Result], None] | None) -> None:
    if isinstance(outcome, ScriptError):
        summary.failures.append(outcome)
    elif on_result is not None:
        on_result(statement, outcome)


_NO_DEPENDENCIES: frozenset[int] = frozenset()


def _dependencies(statements: t.Sequence[Statement]) -> tuple[list[frozenset[int]], dict[int, list[int]]]:
    """Which earlier statements each one waits for (the latest setter of each ``:param``), and the reverse."""
    setter: dict[str, int] = {}
    waiting_on: list[frozenset[int]] = []
    unblocks: dict[int, list[int]] = {}
    for index, statement in enumerate(statements):
        deps = frozenset(setter[name] for name in statement.needs if name in setter) or _NO_DEPENDENCIES
        waiting_on.append(deps)
        for dep in deps:
            unblocks.setdefault(dep, []).append(index)
        for name in statement.provides:
            setter[name] = index
    return waiting_on, unblocks


def _release(index: int, unblocks: dict[int, list[int]], remaining: dict[int, int], ready: list[int]) -> None:
    """Make the statements waiting only for ``index`` runnable."""
    for dependent in unblocks.get(index, ()):
        remaining[dependent] -= 1
        if remaining[dependent] == 0:
            del remaining[dependent]
            heapq.heappush(ready, dependent)


def _collect(
    statement: Statement, result: Result, values: dict[str, t.Any], dependents: t.Sequence[Statement], dry_run: bool
) -> None:
    """Make RETURNING columns available as ``:name``; a statement that uses one needs exactly one row."""
    provided = statement.provides
    if not provided:
        return
    if dry_run:  # nothing came back: later requests show the name instead
        values.update({name: Deferred(name) for name in provided})
        return
    if len(result.rows) == 1:
        values.update({name: result.rows[0].get(name) for name in provided})
        return
    wanted = sorted(provided & set().union(*(s.needs for s in dependents)))
    if wanted:
        raise ProgrammingError(
            f"RETURNING gave {len(result.rows)} rows, but :{wanted[0]} for a later statement needs exactly one"
        )

"""Running several statements in order without ever losing track of what ran.

A script is rendered (templates), split, parsed and resolved as a whole
before the first request, so a typo on line 90 fails before line 1 changes
anything; a ``:param`` that no earlier statement sets fails then too. While it
runs, each statement's ``RETURNING`` columns (one row) become bind parameters
of the statements after it, and each result is handed over as soon as it exists.

The bookkeeping — which statement may start, what a finished one provides,
in which order results are shown, what a failure stops — is ``Schedule``,
which does no I/O. ``run`` drives it from a thread pool over a sync
connection, ``run_async`` from asyncio tasks over an async one.
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from cfql.errors import Error, Interrupted, NotSent, OutcomeUnknownError, ProgrammingError
from cfql.http.retry import READS
from cfql.plan.cache import PlanCache
from cfql.plan.plans import Plan
from cfql.redact import plan_secrets, redact_statement
from cfql.result import SUCCEEDED, Result, describe_outcomes
from cfql.sql.dialect import iter_statements
from cfql.sql.scanner import has_template
from cfql.sql.values import Deferred

# Plans kept from preparation for the run. Past this many statements a script's
# plans are re-made as they run (parsing twice), so memory stays flat however
# long the script is.
KEEP_PLANS = 1000


class Target(t.Protocol):
    """What a script runs on: a connection's plans (``run``/``run_async`` also use its ``run_plan``)."""

    plans: PlanCache


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


@dataclass
class Summary:
    """What a run did: counts, and the errors (each located in the script).

    ``failures`` holds every error in script order; those whose change may
    have been applied (``error.outcome_unknown``) are also counted apart as
    ``unknown``, never as plainly failed. What neither ran nor failed was not run.
    """

    total: int
    succeeded: int = 0
    failures: list[Error] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def unknown(self) -> list[Error]:
        """The statements whose change may have been applied although no answer says so."""
        return [error for error in self.failures if error.outcome_unknown]

    @property
    def failed(self) -> list[Error]:
        """The statements that failed and changed nothing."""
        return [error for error in self.failures if not error.outcome_unknown]

    @property
    def not_run(self) -> int:
        return self.total - self.succeeded - len(self.failures)

    def describe(self) -> str:
        """``N of M statements succeeded, F failed, U outcome unknown (...), R not run``."""
        parts = [f"{self.succeeded} of {self.total} statements succeeded", f"{len(self.failed)} failed"]
        unknown = len(self.unknown)
        if unknown:
            parts.append(f"{unknown} with outcome unknown ({OutcomeUnknownError.ADVICE})")
        if self.not_run:
            parts.append(f"{self.not_run} not run")
        for error in self.failures:  # a statement that sent one request per element: what became of each
            outcomes = error.result.outcomes if error.result is not None else None
            if outcomes:
                parts.append(f"line {error.line if error.line is not None else '?'}: {describe_outcomes(outcomes)}")
        return ", ".join(parts)


def prepare(
    target: Target,
    text: str,
    source: str = "<input>",
    variables: t.Mapping[str, t.Any] | None = None,
    params: t.Iterable[str] = (),
    template_dir: str | Path | None = None,
    filters: t.Mapping[str, t.Callable[..., t.Any]] | None = None,
) -> Script:
    """Render, parse and resolve every statement; check every ``:param`` has an earlier source,
    and that a statement setting one gives at most one row (``Plan.max_rows``).

    Templates may include files from ``template_dir`` only, and never see the
    environment variables the target's providers read credentials from."""
    if has_template(text):
        # Only now: a plain script never pays for Jinja.
        from cfql.script.templates import render

        try:
            text = render(text, variables or {}, source, template_dir, hidden=hidden_env_vars(target), filters=filters)
        except Error as error:
            raise error.locate(source, "?") from None
    statements: list[Statement] = []
    available = set(params)
    setters: dict[str, tuple[int, int | None]] = {}  # name -> (line, max_rows) of its latest setter
    shared: dict[frozenset[str], frozenset[str]] = {}
    line = 1
    try:
        for piece in iter_statements(text):
            line = piece.line
            plan = target.plans.get(piece.sql, line_offset=line - 1, piece=piece)
            missing = sorted(plan.bind_names - available)
            if missing:
                raise ProgrammingError(
                    f"statement {len(statements) + 1} uses :{missing[0]}, which no earlier statement sets "
                    f"(add RETURNING ... AS {missing[0]} to one, or pass it as a parameter)"
                )
            for name in sorted(plan.bind_names & setters.keys()):
                set_at, rows = setters[name]
                if rows != 1:
                    how = "returns no rows" if rows == 0 else "can return several rows"
                    raise ProgrammingError(f"line {line} uses :{name}, but the statement at line {set_at} that sets it {how}")
            available |= plan.provides
            setters.update(dict.fromkeys(plan.provides, (line, plan.max_rows)))
            # A plan with secrets is always kept: error excerpts mask them from it.
            kept = plan if len(statements) < KEEP_PLANS or plan_secrets(plan) else None
            needs = shared.setdefault(plan.bind_names, plan.bind_names)
            provides = shared.setdefault(plan.provides, plan.provides)
            end = piece.start + len(piece.sql)
            statements.append(Statement(text, piece.start, end, line, needs, provides, kept))
    except Error as error:
        raise error.locate(source, getattr(error, "line", None) or line) from None
    return Script(source, statements)


def hidden_env_vars(target: t.Any) -> set[str]:
    """The environment variables templates must not see: those the target's providers (and its --auth) read credentials from."""
    from cfql.provider.auth import credential_env_vars
    from cfql.provider.registry import default_registry

    registry = getattr(target, "registry", None) or default_registry()
    settings = getattr(target, "settings", None)
    return set(registry.credential_env_vars()) | credential_env_vars(getattr(settings, "auth", None))


OnResult = t.Callable[[Statement, Result], None]
OnProgress = t.Callable[[int, int], None]
OnInterrupt = t.Callable[[int], None]  # told how many statements are still in flight after Ctrl-C

#: Seconds the statements in flight get to finish after Ctrl-C before they are abandoned.
GRACE = 10.0


def shows_rows(error: Error) -> bool:
    """Whether a failed statement still has rows to show: RETURNING's, from the elements of a fanned-out
    change of which some succeeded (``Error.result``); they reach ``on_result`` in the statement's place."""
    result = error.result
    return result is not None and bool(result.columns) and any(o.status == SUCCEEDED for o in result.outcomes or ())


def may_change(plan: Plan) -> bool:
    """Whether running ``plan`` can change something: it calls a method that is not a read."""
    method = getattr(plan, "method", None)
    return method is not None and method.http_method not in READS


class Schedule:
    """Which statement may start, what finished ones provide, and the order results are shown in.

    A statement that uses ``:name`` starts only after the statement that sets
    it has finished; results reach ``on_result`` in script order whatever
    order they finish in. The first failure stops new statements from
    starting (those already in flight finish) unless ``continue_on_error``;
    a statement whose parameters come from a failed one is reported as
    failed rather than sent with a missing value.
    """

    def __init__(
        self,
        target: Target,
        script: Script,
        params: t.Mapping[str, t.Any] | None,
        on_result: OnResult | None,
        continue_on_error: bool,
        on_progress: OnProgress | None,
    ):
        self.target = target
        self.script = script
        self.on_result = on_result
        self.on_progress = on_progress
        self.continue_on_error = continue_on_error
        statements = script.statements
        self.summary = Summary(total=len(statements))
        self.values = dict(params or {})
        self.waiting_on, self.unblocks = _dependencies(statements)
        self.remaining = {index: len(deps) for index, deps in enumerate(self.waiting_on) if deps}
        self.ready = [index for index in range(len(statements)) if index not in self.remaining]  # a heap
        self.outcomes: dict[int, Result | Error] = {}
        self.in_flight: dict[int, Plan] = {}
        self.failed: set[int] = set()
        self.emitted = self.done = self.running = 0
        self.stopping = False

    def start(self, slots: int) -> list[tuple[int, Plan, dict[str, t.Any]]]:
        """Up to ``slots`` statements to start now, each with its plan and parameter values."""
        started = []
        while self.ready and len(started) < slots and not self.stopping:
            index = heapq.heappop(self.ready)
            statement = self.script.statements[index]
            blocked = self.waiting_on[index] & self.failed
            try:
                if blocked:
                    origin = self.script.statements[min(blocked)]
                    raise ProgrammingError(f"skipped: it needs a value from the statement at line {origin.line}, which did not succeed")
                plan = statement.plan or self.target.plans.get(statement.sql, line_offset=statement.line - 1)
            except Error as error:
                self._fail(index, error)
                self.done += 1
                self._release(index)
                continue
            started.append((index, plan, dict(self.values)))
            self.in_flight[index] = plan
        self.running += len(started)
        return started

    @property
    def busy(self) -> bool:
        """Whether anything is running or could still start."""
        return self.running > 0 or (bool(self.ready) and not self.stopping)

    def finish(self, index: int, outcome: Result | BaseException) -> None:
        """Record a statement's outcome; a non-cfql exception is a bug and propagates."""
        self.running -= 1
        self.done += 1
        self.in_flight.pop(index, None)
        if isinstance(outcome, BaseException) and not isinstance(outcome, Error):
            raise outcome
        if isinstance(outcome, NotSent):  # Ctrl-C came before it sent anything: not run, as if never started
            return
        statement = self.script.statements[index]
        try:
            if isinstance(outcome, Error):
                raise outcome
            dependents = [self.script.statements[d] for d in self.unblocks.get(index, ())]
            _collect(statement, outcome, self.values, dependents)
            self.outcomes[index] = outcome
            self.summary.succeeded += 1
        except Error as error:
            self._fail(index, error)
            self.stopping = self.stopping or not self.continue_on_error
        self._release(index)
        while self.emitted in self.outcomes:
            self._emit(self.emitted, self.outcomes.pop(self.emitted))
            self.emitted += 1
        if self.on_progress is not None:
            self.on_progress(self.done, len(self.failed))

    def abandon(self) -> None:
        """Give up waiting for the statements still running (Ctrl-C, twice or for too long).

        Their requests may still reach the API: one that could change
        something is recorded with an unknown outcome, a read as not run.
        """
        for index, plan in sorted(self.in_flight.items()):
            self.running -= 1
            self.done += 1
            if may_change(plan):
                self._fail(index, OutcomeUnknownError(f"abandoned while its request was in flight; {OutcomeUnknownError.ADVICE}"))
        self.in_flight.clear()

    def interrupted(self) -> Interrupted:
        """The error for Ctrl-C, once in-flight statements finished or were abandoned.

        What finished is handed over first (its rows shown); the error counts
        succeeded, failed, unknown and not-run statements and carries the Summary.
        """
        statements = self.script.statements
        line = statements[self.emitted].line if self.emitted < len(statements) else "?"
        self.abandon()
        self._flush()
        error = Interrupted(f"interrupted: {self.summary.describe()}")
        error.locate(self.script.source, line)  # the message counts everything already
        error.completed, error.total, error.summary = self.summary.succeeded, self.summary.total, self.summary
        return error

    def close(self) -> Summary:
        """Hand over what finished after a failure stopped the run; raise the first failure unless continuing.

        The raised error carries the run's ``summary``, so a caller can report
        the other failures and what ran.
        """
        self._flush()
        summary = self.summary
        if summary.failures and not self.continue_on_error:
            first = summary.failures[0]
            first.locate(first.source or self.script.source, first.line, first.statement, summary.succeeded, summary.total)
            first.summary = summary
            raise first
        return summary

    def _flush(self) -> None:
        for index in sorted(self.outcomes):
            self._emit(index, self.outcomes[index])
        self.outcomes.clear()

    def _fail(self, index: int, error: Error) -> None:
        statement = self.script.statements[index]
        self.outcomes[index] = error.locate(
            self.script.source, statement.line, statement.excerpt(), self.summary.succeeded, self.summary.total
        )
        self.failed.add(index)

    def _emit(self, index: int, outcome: Result | Error) -> None:
        if isinstance(outcome, Error):
            self.summary.failures.append(outcome)
            if shows_rows(outcome) and self.on_result is not None:
                self.on_result(self.script.statements[index], outcome.result)  # what its elements that succeeded returned
        elif self.on_result is not None:
            self.on_result(self.script.statements[index], outcome)

    def _release(self, index: int) -> None:
        """Make the statements waiting only for ``index`` runnable."""
        for dependent in self.unblocks.get(index, ()):
            self.remaining[dependent] -= 1
            if self.remaining[dependent] == 0:
                del self.remaining[dependent]
                heapq.heappush(self.ready, dependent)


class SyncTarget(Target, t.Protocol):
    def run_plan(self, plan: Plan, params: t.Mapping[str, t.Any], halted: threading.Event | None = None) -> Result: ...


class AsyncTarget(Target, t.Protocol):
    async def run_plan(self, plan: Plan, params: t.Mapping[str, t.Any], halted: threading.Event | None = None) -> Result: ...


def run(
    target: SyncTarget,
    script: Script,
    params: t.Mapping[str, t.Any] | None = None,
    on_result: OnResult | None = None,
    continue_on_error: bool = False,
    on_progress: OnProgress | None = None,
    concurrency: int = 1,
    on_interrupt: OnInterrupt | None = None,
) -> Summary:
    """Run the statements, up to ``concurrency`` at a time over the target's pooled client.

    Requests run on worker threads; the calling thread only schedules, so
    Ctrl-C reaches it at once. Then no statement starts any more, the ones in
    flight get ``GRACE`` seconds to finish and are counted by their real
    outcome (``on_interrupt`` is told how many there are); a second Ctrl-C
    abandons them. The workers are daemon threads: an abandoned request
    never keeps the process alive.
    """
    schedule = Schedule(target, script, params, on_result, continue_on_error, on_progress)
    halted = threading.Event()  # set on Ctrl-C: the statements in flight start no more of their elements
    finished: queue.SimpleQueue[tuple[int, Result | BaseException]] = queue.SimpleQueue()
    jobs: queue.SimpleQueue[tuple[int, Plan, dict[str, t.Any]] | None] = queue.SimpleQueue()
    workers: list[threading.Thread] = []
    slots = max(1, concurrency)

    def work() -> None:
        while (job := jobs.get()) is not None:
            index, plan, bound = job
            try:
                finished.put((index, target.run_plan(plan, bound, halted)))
            except Exception as error:  # handed to the main thread, which must never wait forever
                finished.put((index, error))

    try:
        while schedule.busy:
            for job in schedule.start(slots - schedule.running):
                if len(workers) < slots:
                    workers.append(threading.Thread(target=work, name=f"cfql-{len(workers)}", daemon=True))
                    workers[-1].start()
                jobs.put(job)
            if not schedule.running:
                break
            schedule.finish(*finished.get())
    except KeyboardInterrupt:
        schedule.stopping = True
        halted.set()
        _wait_for_in_flight(schedule, finished, on_interrupt)
        raise schedule.interrupted() from None
    finally:
        for _ in workers:
            jobs.put(None)
    return schedule.close()


def _wait_for_in_flight(
    schedule: Schedule, finished: queue.SimpleQueue[tuple[int, Result | BaseException]], on_interrupt: OnInterrupt | None
) -> None:
    """After Ctrl-C: let running statements finish for up to GRACE seconds; a second Ctrl-C stops waiting."""
    if not schedule.running:
        return
    if on_interrupt is not None:
        on_interrupt(schedule.running)
    deadline = time.monotonic() + GRACE
    try:
        while schedule.running and (left := deadline - time.monotonic()) > 0:
            try:
                schedule.finish(*finished.get(timeout=left))
            except queue.Empty:
                return
    except KeyboardInterrupt:
        return


def run_one(
    target: SyncTarget, plan: Plan, params: t.Mapping[str, t.Any] | None = None, on_interrupt: OnInterrupt | None = None
) -> Result:
    """Run one planned statement (the shell's) with ``run``'s Ctrl-C behaviour.

    It runs on a daemon worker thread. On Ctrl-C, ``on_interrupt(1)`` is
    called and the statement gets ``GRACE`` seconds: if it finishes, its
    Result (or its error) is what it really was. If it does not, or a second
    Ctrl-C comes, ``Interrupted`` is raised; its ``outcome_unknown`` is set
    when the statement could change something.
    """
    finished: queue.SimpleQueue[Result | Exception] = queue.SimpleQueue()

    halted = threading.Event()  # as in ``run``

    def work() -> None:
        try:
            finished.put(target.run_plan(plan, params or {}, halted))
        except Exception as error:  # handed to the caller's thread
            finished.put(error)

    threading.Thread(target=work, name="cfql-statement", daemon=True).start()
    try:
        outcome = finished.get()
    except KeyboardInterrupt:
        halted.set()  # requests in flight finish; no more of its elements start
        if on_interrupt is not None:
            on_interrupt(1)
        try:
            outcome = finished.get(timeout=GRACE)
        except (queue.Empty, KeyboardInterrupt):
            if not may_change(plan):
                raise Interrupted("cancelled") from None
            error = Interrupted(f"cancelled while its request was in flight; {OutcomeUnknownError.ADVICE}")
            error.outcome_unknown = True
            raise error from None
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def run_async(
    target: AsyncTarget,
    script: Script,
    params: t.Mapping[str, t.Any] | None = None,
    on_result: OnResult | None = None,
    continue_on_error: bool = False,
    on_progress: OnProgress | None = None,
    concurrency: int = 1,
    on_interrupt: OnInterrupt | None = None,
) -> Summary:
    """``run`` for an async target: up to ``concurrency`` statements as asyncio tasks."""
    import asyncio  # here, not at the top: ``cfql exec`` never needs it and starts faster without

    schedule = Schedule(target, script, params, on_result, continue_on_error, on_progress)
    halted = threading.Event()  # as in ``run``
    workers = max(1, concurrency)
    tasks: dict[asyncio.Future[Result], int] = {}

    def collect(done: t.Iterable[asyncio.Future[Result]]) -> None:
        for task in sorted(done, key=tasks.__getitem__):
            index = tasks.pop(task)
            error = task.exception()
            schedule.finish(index, error if error is not None else task.result())

    try:
        while schedule.busy:
            for index, plan, bound in schedule.start(workers - schedule.running):
                tasks[asyncio.ensure_future(target.run_plan(plan, bound, halted))] = index
            if not tasks:
                break
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            collect(done)
    except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C under asyncio.run cancels the running task
        schedule.stopping = True
        halted.set()
        if tasks:
            if on_interrupt is not None:
                on_interrupt(len(tasks))
            try:
                done, _ = await asyncio.wait(tasks, timeout=GRACE)
                collect(done)
            except (asyncio.CancelledError, KeyboardInterrupt):
                pass
        raise schedule.interrupted() from None
    finally:
        for task in tasks:
            task.cancel()
    return schedule.close()


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


def _collect(statement: Statement, result: Result, values: dict[str, t.Any], dependents: t.Sequence[Statement]) -> None:
    """Make RETURNING columns available as ``:name``; a statement that uses one needs exactly one row."""
    provided = statement.provides
    if not provided:
        return
    if result.dry_run:  # nothing came back: later requests show the name instead
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

"""build, test, teardown and plan of a stack: stackql-deploy v2's lifecycle, run on one cfql connection.

Per resource, in manifest order (teardown: exports gathered in order, deletes
in reverse), the queries of its ``.iql`` run as cfql statements on the one
execution path: rendered in the sandbox, planned, checked, then sent with
cfql's retries, pacing and outcome rules. Where stackql-deploy is unsafe this
module is not (README's "cfql deploy" section lists each difference):

* an error in ``exists``, ``statecheck`` or ``exports`` stops the run; only
  zero rows, a row of NULLs, or a 404 to a read of the one object a query
  names, mean absent;
* a create, update or delete query is never repeated by the lifecycle
  (``retries=`` repeats checks only; cfql's HTTP retries never resend a
  create), and an unknown outcome is reported as such, never as failed;
* every template a command may run is compiled, parsed and its names and
  resources resolved before the first request;
* a resource needs an ``exists`` query (or only ``createorupdate``): a
  ``statecheck`` alone cannot tell a missing resource from a drifted one, and
  creating a drifted one would duplicate it;
* ``plan`` sends reads only and describes the writes; ``--dry-run`` sends
  nothing at all.
"""

from __future__ import annotations

import json
import time
import typing as t
import uuid
from dataclasses import dataclass, field

from cfql.deploy import outcomes, report
from cfql.deploy.manifest import BUILTIN_NAMES, Resource, Stack, Unquoted
from cfql.deploy.outcomes import DeployResult, ResourceOutcome, Step
from cfql.deploy.queries import (
    Query,
    check_statements,
    load_queries,
    returns_rows,
    select_names,
)
from cfql.deploy.values import (
    FILTERS,
    Names,
    Renderer,
    UndefinedName,
    as_text,
    merge,
    prop_value,
    template_names,
    text_condition,
    value_names,
)
from cfql.errors import APIError, Error, StackError
from cfql.redact import MASK
from cfql.result import Result

COMMANDS = ("build", "test", "teardown", "plan")
ON_FAILURE = ("error", "ignore", "rollback")
#: The anchors each command may run, so that only their templates are checked before it starts.
_ANCHORS = {
    "build": ("exists", "create", "update", "createorupdate", "statecheck", "exports", "command"),
    "plan": ("exists", "create", "update", "createorupdate", "statecheck", "exports", "command"),
    "test": ("exists", "statecheck", "exports"),
    "teardown": ("exists", "exports", "delete"),
}


class Unavailable(Exception):
    """A query needs an export of a resource that is absent, failed, or (in a plan) not created yet."""

    def __init__(self, upstream: str, why: str):
        super().__init__(f"needs {upstream}, which {why}")
        self.upstream = upstream


class StepFailed(Exception):
    """One query of one resource failed; the message names the resource, the anchor and its file:line."""

    def __init__(self, resource: str, query: Query | None, error: BaseException | str, missing_object: bool = False):
        self.error = error
        self.outcome_unknown = bool(getattr(error, "outcome_unknown", False))
        self.missing_object = missing_object  # the error is a 404 for the one object the query names
        anchor = query.anchor if query is not None else "exports"
        where, message = (query.where if query is not None else ""), str(error)
        if isinstance(error, Error) and error.reason is not None and error.source is not None:
            # the statement's own line; a template's error already starts with its file:line
            where = "" if error.reason.startswith(f"{error.source}:") else f"{error.source}:{error.line or '?'}"
            message = error.reason
        super().__init__(f"{resource}: {anchor} ({where}): {message}" if where else f"{resource}: {anchor}: {message}")


@dataclass
class _State:
    """One resource during a run: its queries, what its queries captured, and its evaluated props."""

    resource: Resource
    queries: dict[str, Query]
    captured: dict[str, t.Any] = field(default_factory=dict)
    props: dict[str, t.Any] = field(default_factory=dict)
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    writes: int = 0


class Deployment:
    """One command over one stack on one connection (``conn``, a ``cfql.Connection``)."""

    def __init__(
        self,
        stack: Stack,
        conn: t.Any,
        stack_env: str,
        variables: t.Mapping[str, t.Any],
        *,
        dry_run: bool = False,
        show_queries: bool = False,
        on_failure: str = "error",
        echo: t.Callable[[str], None] | None = None,
        sleep: t.Callable[[float], None] = time.sleep,
    ):
        if on_failure not in ON_FAILURE:
            raise StackError(f"--on-failure must be one of {', '.join(ON_FAILURE)}, not {on_failure!r}")
        self.stack, self.conn, self.stack_env = stack, conn, stack_env
        self.variables = dict(variables)
        self.secrets: set[str] = set()  # values to mask: each kept once, however often it is read
        for name, value in self.variables.items():
            self._secret_values(name, value)
        self.dry_run, self.show_queries, self.on_failure = dry_run, show_queries, on_failure
        self.echo = echo or (lambda line: None)
        self.sleep = sleep
        from cfql.script.runner import hidden_env_vars

        self.renderer = Renderer(hidden_env_vars(conn))
        self.states = {resource.name: _State(resource, load_queries(stack, resource)) for resource in stack.resources}
        self.order = [resource.name for resource in stack.resources]
        self.globals: dict[str, t.Any] = {}
        self.exports: dict[str, dict[str, t.Any]] = {}  # resource -> its exports
        self.plain: dict[str, t.Any] = {}  # export name -> value (the latest resource's)
        self.unavailable: dict[str, str] = {}  # resource -> why its exports are not there
        self.describing = False  # plan's writes and dry runs: unknown values become placeholders
        self.placeholders: dict[str, str] = {}  # placeholder value -> what it stands for
        self._captured_names: dict[str, set[str] | None] = {}
        self._created: list[_State] = []  # what this run created, for --on-failure rollback
        self._pretended: set[str] = set()  # resources whose exports are placeholders (dry runs, a plan's creates)
        self.off: dict[str, str] = {}  # resources an if turns off (or that need one that is off) -> why
        self._alternate = False  # describing again with other stand-in values, to tell whose error it is
        self._check_providers()
        self._render_globals()

    # -- the commands ---------------------------------------------------------------------------

    def run(self, command: str) -> DeployResult:
        """Check every template the command needs, then run it; the result says per resource what happened."""
        if command not in COMMANDS:
            raise StackError(f"unknown deploy command {command!r} (one of {', '.join(COMMANDS)})")
        anchors = set(_ANCHORS[command]) | ({"delete"} if command == "build" and self.on_failure == "rollback" else set())
        self._decide_conditions(anchors)
        for name in self.order:
            if name not in self.off:
                self._check_resource(self.states[name], anchors)
        self._check_shape(command)
        self._check_stack_exports()
        result = DeployResult(command, self.stack.name, self.stack_env, dry_run=self.dry_run)
        self.describing = self.dry_run
        if command == "teardown":
            self._teardown(result)
        else:
            self._forward(command, result)
        if command in ("build", "test") and result.ok and not self.dry_run:
            result.exports = self._stack_exports()
        return result

    def _forward(self, command: str, result: DeployResult) -> None:
        stopped = False
        for name in self.order:
            state = self.states[name]
            outcome = ResourceOutcome(name, state.resource.type, outcomes.NOT_RUN) if stopped else self._one(command, state)
            result.resources.append(outcome)
            self._tell(outcome)
            if outcome.ok:
                continue
            if outcome.action in (outcomes.FAILED, outcomes.UNKNOWN):
                self.unavailable[name] = "failed" if outcome.action == outcomes.FAILED else "has an unknown outcome"
                if command == "build" and self.on_failure != "ignore":
                    stopped = True
            elif name not in self.exports:  # test: missing (a drifted resource's exports were still read)
                self.unavailable.setdefault(name, "does not exist" if outcome.action == outcomes.MISSING else outcome.action)
        if command == "build" and self.on_failure == "rollback" and not result.ok and not self.dry_run:
            self._rollback(result)

    def _one(self, command: str, state: _State) -> ResourceOutcome:
        resource = state.resource
        outcome = ResourceOutcome(resource.name, resource.type, outcomes.SKIPPED)
        try:
            if resource.name in self.off or not self._condition(state):
                outcome.note = self.off.get(resource.name, "its if is false")
                self.unavailable[resource.name] = "is skipped"
                return outcome
            if self.dry_run:
                outcome.action = outcomes.DRY_RUN
                outcome.steps = self._describe_all(state, _ANCHORS[command])
                self._pretend_exports(state)
                return outcome
            if command == "build":  # every query it may run can: nothing is sent for a resource that would stop halfway
                self._require(state, self._names(state, _ANCHORS["build"]))
            handler = {"build": self._build, "test": self._test, "plan": self._plan}[command]
            if resource.type == "query":  # every command reads a query resource's exports, and does nothing else
                self._export(state)
                outcome.action = outcomes.EXPORTED
            else:
                outcome.action = handler(state, outcome)
        except Unavailable as missing:
            why = self.unavailable.get(missing.upstream, "")
            if why == "is skipped" and not state.writes:  # what it needs is off in this stack env: so is it
                outcome.action, outcome.note = outcomes.SKIPPED, f"it needs {missing.upstream}, which is skipped"
                self.unavailable[resource.name] = "is skipped"
            elif command == "plan" and why == "is to be created":  # e.g. its if, or a query resource, reads it
                outcome.note = f"it needs {missing.upstream}, which is to be created: build reads it then"
                outcome.action = outcomes.EXPORTED if resource.type == "query" else outcomes.WOULD_CREATE
                self._pretend_exports(state)
                self.unavailable[resource.name] = "is to be created"
            else:
                outcome.action = outcomes.FAILED if state.writes else outcomes.NOT_RUN if command == "build" else outcomes.UNCHECKED
                outcome.error = f"{resource.name}: {missing}"
                self.unavailable.setdefault(resource.name, f"needs {missing.upstream}")
        except StepFailed as failure:
            outcome.action = outcomes.UNKNOWN if failure.outcome_unknown else outcomes.FAILED
            outcome.error = self._masked(str(failure))
        except Error as error:  # a value of the stack that only the run shows is wrong (an if, a prop's filter ...)
            outcome.action, outcome.error = outcomes.FAILED, self._masked(f"{resource.name}: {error}")
        outcome.writes = state.writes
        outcome.exports = dict(self.exports.get(resource.name, {}))
        return outcome

    def _build(self, state: _State, outcome: ResourceOutcome) -> str:
        queries, kind = state.queries, state.resource.type
        if kind == "command":
            self._apply(state, queries["command"])
            return outcomes.RAN
        if "exists" not in queries:  # only createorupdate (checked before the run): nothing can tell its state
            self._apply(state, queries["createorupdate"], "create")
            self._confirm(state)
            self._export(state)
            return outcomes.APPLIED
        if not self._exists(state):
            self._apply(state, queries.get("create") or queries["createorupdate"], "create")
            self._confirm(state)
            action = outcomes.CREATED
        elif (update := self._drift_fix(state)) is not None:
            self._apply(state, update, "update")
            self._confirm(state)
            action = outcomes.UPDATED
        else:
            action = outcomes.UNCHANGED
        self._export(state)
        return action

    def _test(self, state: _State, outcome: ResourceOutcome) -> str:
        kind = state.resource.type
        if kind == "command":
            return outcomes.SKIPPED
        if not self._exists(state, tries=1 + state.queries["exists"].option("retries")):
            return outcomes.MISSING
        passed = outcomes.PASSED
        if "statecheck" in state.queries and not state.resource.skip_validation:
            if not self._statecheck(state, tries=1 + state.queries["statecheck"].option("retries")):
                passed = outcomes.DRIFTED
        self._export(state)
        return passed

    def _plan(self, state: _State, outcome: ResourceOutcome) -> str:
        queries, kind = state.queries, state.resource.type
        if kind == "command":
            outcome.steps = [self._describe(state, queries["command"])]
            return outcomes.WOULD_RUN
        try:
            found = "exists" in queries and self._exists(state)
        except Unavailable as pending:
            self._pending(pending)
            found = False
        if not found:
            outcome.steps = [self._describe(state, queries.get("create") or queries["createorupdate"])]
            self._pretend_exports(state)
            self.unavailable[state.resource.name] = "is to be created"
            return outcomes.WOULD_CREATE
        try:
            update = self._drift_fix(state)
        except Unavailable as pending:  # build checks it once the upstream is there, and sends its update if it drifted
            self._pending(pending)
            update = _update_query(state)
            outcome.note = f"its statecheck needs {pending.upstream}, which is to be created: build will check it then"
            if update is None:  # nothing to send: should it have drifted, build fails it (no update to send)
                outcome.note += " (it has no /*+ update */ query)"
        if update is not None:
            outcome.steps = [self._describe(state, update)]
        self._export(state)
        return outcomes.NO_CHANGE if update is None else outcomes.WOULD_UPDATE

    def _pending(self, error: Unavailable) -> None:
        """A plan reads past what it needs from a resource to be created; anything else unavailable stops it."""
        if self.unavailable.get(error.upstream) != "is to be created":
            raise error

    def _drift_fix(self, state: _State) -> Query | None:
        """The query that brings a found resource back to what it declares; None when its statecheck passes."""
        queries = state.queries
        if "statecheck" not in queries or state.resource.skip_validation or self._statecheck(state, tries=1):
            return None
        update = _update_query(state)
        if update is None:
            raise StepFailed(state.resource.name, queries["statecheck"], "it has drifted and has no /*+ update */ query")
        return update

    def _teardown(self, result: DeployResult) -> None:
        """What exists is found in manifest order (its exports handed on), then deleted in reverse."""
        present = self._discover(result)
        if present is not None:
            self._delete_in_reverse(result, present)

    def _discover(self, result: DeployResult) -> set[str] | None:
        """The resources that exist (noting why each other one is not deleted); None if a read failed.

        Without knowing what exists, deleting anything could delete the wrong
        thing: then nothing is deleted, and the rest is reported not run.
        """
        present: set[str] = set()
        for name in self.order:
            state = self.states[name]
            kind = state.resource.type
            try:
                if kind == "command":
                    continue
                if name in self.off or not self._condition(state):
                    self.unavailable[name] = "is skipped"
                elif self.dry_run:
                    self._pretend_exports(state)
                    present.add(name)
                elif kind == "query":
                    self._export(state, missing_ok=True)
                elif self._exists(state):
                    self._export(state, missing_ok=True)
                    present.add(name)
                else:
                    self.unavailable[name] = "does not exist"
            except Unavailable as missing:
                self.unavailable[name] = f"needs {missing.upstream}"
            except (StepFailed, Error) as error:
                message = str(error) if isinstance(error, StepFailed) else f"{name}: {error}"
                result.resources.append(ResourceOutcome(name, kind, outcomes.FAILED, error=self._masked(message)))
                self._tell(result.resources[-1])
                for other in reversed(self.order):
                    if other != name and self.states[other].resource.type in ("resource", "multi"):
                        result.resources.append(ResourceOutcome(other, self.states[other].resource.type, outcomes.NOT_RUN))
                        self._tell(result.resources[-1])
                return None
        return present

    def _delete_in_reverse(self, result: DeployResult, present: set[str]) -> None:
        stopped = False
        for name in reversed(self.order):
            state = self.states[name]
            kind = state.resource.type
            if kind in ("query", "command"):
                continue
            why = self.unavailable.get(name, "")
            if name in present:
                outcome = ResourceOutcome(name, kind, outcomes.NOT_RUN) if stopped else self._delete_one(state)
                stopped = stopped or (not outcome.ok and self.on_failure != "ignore")
            elif why == "is skipped":
                outcome = ResourceOutcome(name, kind, outcomes.SKIPPED, note=self.off.get(name, "its if is false"))
            elif why.startswith("needs "):  # its exists query could not even be asked
                upstream = why.removeprefix("needs ")
                note = f"not looked for: it needs {upstream}, which {self.unavailable.get(upstream, 'is gone')}"
                outcome = ResourceOutcome(name, kind, outcomes.SKIPPED, note=note)
            else:
                outcome = ResourceOutcome(name, kind, outcomes.ABSENT)
            result.resources.append(outcome)
            self._tell(outcome)

    def _delete_one(self, state: _State) -> ResourceOutcome:
        outcome = ResourceOutcome(state.resource.name, state.resource.type, outcomes.DELETED)
        delete = state.queries.get("delete")
        writes_before = state.writes
        try:
            if self.dry_run:
                outcome.action = outcomes.DRY_RUN
                outcome.steps = [self._describe(state, query) for query in (state.queries.get("exists"), delete) if query]
            elif delete is None:
                outcome.action = outcomes.KEPT
            else:  # a 404 to the delete is no proof either: the exists query has the last word
                self._apply(state, delete, "delete", gone_ok=True)
                self._confirm_gone(state, delete)
        except Unavailable as missing:
            outcome.action, outcome.error = outcomes.FAILED, f"{state.resource.name}: {missing}"
        except StepFailed as failure:
            outcome.action = outcomes.UNKNOWN if failure.outcome_unknown else outcomes.FAILED
            outcome.error = self._masked(str(failure))
        except Error as error:
            outcome.action, outcome.error = outcomes.FAILED, self._masked(f"{state.resource.name}: {error}")
        outcome.writes = state.writes - writes_before
        return outcome

    def _rollback(self, result: DeployResult) -> None:
        """Tear down, newest first, what this run created (and nothing it found already there)."""
        for state in reversed(self._created):
            outcome = self._delete_one(state)
            if outcome.action == outcomes.DELETED:
                outcome.action = outcomes.ROLLED_BACK
            elif outcome.action == outcomes.KEPT:
                outcome.action, outcome.error = outcomes.FAILED, f"{state.resource.name}: cannot roll back: it has no /*+ delete */ query"
            result.rolled_back.append(outcome)
            self._tell(outcome, rollback=True)

    def _tell(self, outcome: ResourceOutcome, rollback: bool = False) -> None:
        self.echo(report.line(outcome, self.secrets, rollback))
        for text in report.steps_text(outcome):
            self.echo(text)

    # -- the steps ------------------------------------------------------------------------------

    def _poll(self, check: t.Callable[[], bool], tries: int, delay: float) -> bool:
        """Whether ``check`` passes within ``tries`` asks, ``delay`` seconds apart."""
        for attempt in range(tries):
            if check():
                return True
            if attempt + 1 < tries:
                self.sleep(delay)
        return False

    def _exists(self, state: _State, tries: int = 1) -> bool:
        """Whether the exists query finds the resource (its row's columns captured), asked up to ``tries`` times."""
        query = state.queries["exists"]
        return self._poll(lambda: self._exists_once(state, query), tries, query.option("retry_delay"))

    def _exists_once(self, state: _State, query: Query) -> bool:
        try:
            rows = self._read(state, query)
        except StepFailed as failure:
            if failure.missing_object:
                return False
            raise
        if not rows:
            return False
        if len(rows) > 1:
            raise StepFailed(state.resource.name, query, f"{len(rows)} rows match; an exists query must match 0 or 1")
        row = rows[0]
        if not _row_finds(state, query, row, "an exists query"):
            return False
        self._capture(state, {key: value for key, value in row.items() if key != "count"})
        return True

    def _statecheck(self, state: _State, tries: int) -> bool:
        """Whether the statecheck query finds the resource as declared (one row; a ``count`` of 1)."""
        query = state.queries["statecheck"]

        def once() -> bool:
            rows = self._read(state, query)
            if len(rows) > 1:
                raise StepFailed(state.resource.name, query, f"{len(rows)} rows match; a statecheck must match 0 or 1")
            return bool(rows) and _row_finds(state, query, rows[0], "a statecheck")

        return self._poll(once, tries, query.option("retry_delay"))

    def _confirm(self, state: _State) -> None:
        """After a create or update: the exists query finds it, and its statecheck passes (each with its retries)."""
        name = state.resource.name
        if "exists" in state.queries:
            exists = state.queries["exists"]
            if not self._exists(state, tries=1 + exists.option("retries")):
                raise StepFailed(name, exists, "the change was sent, but the exists query does not find the resource")
        if "statecheck" in state.queries and not state.resource.skip_validation:
            check = state.queries["statecheck"]
            if not self._statecheck(state, tries=1 + check.option("retries")):
                raise StepFailed(name, check, "the change was sent, but the statecheck still fails")

    def _confirm_gone(self, state: _State, delete: Query) -> None:
        """After a delete: the exists query no longer finds it (asked ``postdelete_retries`` more times)."""
        if "exists" not in state.queries:
            return
        tries = 1 + delete.option("postdelete_retries")
        exists = state.queries["exists"]
        if self._poll(lambda: not self._exists_once(state, exists), tries, delete.option("postdelete_retry_delay")):
            return
        raise StepFailed(state.resource.name, delete, f"the delete was sent, but the exists query still finds it after {tries} checks")

    def _export(self, state: _State, missing_ok: bool = False) -> None:
        """Capture the resource's exports: from its exports query's one row, else from what its queries captured."""
        resource = state.resource
        if not resource.exports:
            return
        query = state.queries.get("exports")
        row = dict(state.captured)
        if query is not None:
            rows = self._read(state, query)
            if not rows:
                if missing_ok:
                    self.unavailable[resource.name] = "does not exist"
                    return
                raise StepFailed(resource.name, query, "the exports query returns no row")
            if len(rows) > 1:
                raise StepFailed(resource.name, query, f"the exports query returns {len(rows)} rows; it must return one")
            row = rows[0]
        exported: dict[str, t.Any] = {}
        for column, alias in resource.exports:
            if column not in row:
                shown = ", ".join(row) or "no columns"
                raise StepFailed(resource.name, query, f"export {column} is not a column of {'its row' if query else 'what its queries captured'} ({shown})")
            exported[alias] = row[column]
            if alias in resource.protected and row[column] is not None:
                self.secrets.add(as_text(row[column]))
        self.exports[resource.name] = exported
        self.plain.update(exported)
        state.captured.update(exported)
        state.props.clear()

    def _pretend_exports(self, state: _State) -> None:
        """A dry run or a plan's create: the resource's exports become placeholders later queries show as such."""
        self._pretended.add(state.resource.name)
        self.exports[state.resource.name] = {
            alias: self._placeholder(f"{state.resource.name}.{alias}") for _, alias in state.resource.exports
        }
        self.plain.update(self.exports[state.resource.name])

    def _apply(self, state: _State, query: Query, op: str = "", gone_ok: bool = False) -> None:
        """Run a change (create, update, delete, command) and capture its ``return_vals``.

        ``gone_ok``: a 404 for the one object the query names is no error (a delete of what is gone).
        """
        results = self._run(state, query, writes=True, gone_ok=gone_ok)
        if results is None:
            return
        if op == "create" and "exists" in state.queries:  # created by this run: --on-failure rollback may remove it
            self._created.append(state)
        returned = next((r.rows[0] for r in reversed(results) if r.columns and r.rows), None)
        pairs = state.resource.return_vals.get(op, [])
        if pairs:
            if returned is None:
                raise StepFailed(state.resource.name, query, f"return_vals.{op} names fields, but the query returns no row (add RETURNING)")
            missing = [column for column, _ in pairs if column not in returned]
            if missing:
                raise StepFailed(state.resource.name, query, f"return_vals.{op}: {missing[0]} is not among the RETURNING columns")
            self._capture(state, {alias: returned[column] for column, alias in pairs})

    def _capture(self, state: _State, fields: t.Mapping[str, t.Any]) -> None:
        resource = state.resource
        protected = {column for column, alias in resource.exports if alias in resource.protected} | set(resource.protected)
        self.secrets |= {as_text(value) for key, value in fields.items() if key in protected and value is not None}
        state.captured.update(fields)
        state.props.clear()  # a prop may read what was just captured

    def _read(self, state: _State, query: Query) -> list[dict[str, t.Any]]:
        results = self._run(state, query)
        assert results is not None
        return results[-1].rows if results else []

    def _run(self, state: _State, query: Query, writes: bool = False, gone_ok: bool = False) -> list[Result] | None:
        """Render, plan and run one anchored query; StepFailed naming the resource, anchor and line on any error."""
        from cfql.script import runner

        script = self._prepare(state, query)
        _on_resources(state, query, script)
        for statement in script.statements:
            for value, meaning in self.placeholders.items():
                if value in statement.sql:  # a value known only after a create that has not happened: never sent
                    raise Unavailable(meaning.split(".")[0], "is to be created")
            if not writes and runner.may_change(statement.plan):
                raise StepFailed(state.resource.name, query, f"line {statement.line}: a /*+ {query.anchor} */ query must only read")
            if self.show_queries:
                self.echo(report.query_text(state.resource.name, query, statement, self._masked))
        results: list[Result] = []

        def collect(statement: t.Any, result: Result) -> None:
            results.append(result)
            if statement.plan is not None and runner.may_change(statement.plan):
                state.writes += 1

        try:
            runner.run(self.conn, script, on_result=collect)
        except Error as error:
            missing = isinstance(error, APIError) and error.status == 404 and _names_one_object(script)
            if gone_ok and missing:
                return None
            if writes and results and not error.outcome_unknown:
                error.outcome_unknown = True  # an earlier statement of this query was applied
            raise StepFailed(state.resource.name, query, error, missing_object=missing) from None
        return results

    def _prepare(self, state: _State, query: Query) -> t.Any:
        from cfql.script import runner

        variables = self._context(state, template_names(query.text, sql=True, source=query.source), query.where)
        try:
            return runner.prepare(
                self.conn, query.text, query.source, variables, template_dir=self.stack.directory / "resources", filters=FILTERS
            )
        except Error as error:
            raise StepFailed(state.resource.name, query, error) from None

    def _describe(self, state: _State, query: Query) -> Step:
        """A query shown, not sent: its statements rendered (unknown values as placeholders) and their first requests."""
        describing, self.describing = self.describing, True
        try:
            script = self._prepare(state, query)
            _on_resources(state, query, script)
            step = Step(query.anchor, query.where, "")
            texts = []
            for statement in script.statements:
                texts.append(statement.excerpt(10_000))
                if statement.plan is not None:
                    step.requests += self.conn.driver.dry_run(statement.plan, None).rows
            step.sql = self._shown(";\n".join(texts) + ";")
            step.requests = [self._shown_request(request) for request in step.requests]
            return step
        except StepFailed as failure:
            if not self._reads_unknown(state, template_names(query.text, sql=True, source=query.source)) or self._fails_anyway(state, query, failure):
                raise
            return Step(query.anchor, query.where, "", note=self._shown(str(failure)))
        finally:
            self.describing = describing

    def _fails_anyway(self, state: _State, query: Query, failure: StepFailed) -> bool:
        """Whether a query fails the same way with other stand-ins (0 for every unknown value): then it is its own error."""
        self._alternate, state.props = True, {}
        try:
            self._prepare(state, query)
        except StepFailed as again:
            return str(again) == str(failure)
        finally:
            self._alternate, state.props = False, {}
        return False

    def _reads_unknown(self, state: _State, names: Names) -> bool:
        """Whether a template reads a value not known yet (a placeholder): its failure to render then says nothing."""
        if self._upstreams(state, names, set()) & self._pretended:
            return True
        captured = self._captured(state)
        unknown = {name for name in names.lines if captured is None or name in captured} - set(state.captured)
        return bool(unknown) or any(owner == "this" and field not in state.captured for owner, field in names.attributes)

    def _names(self, state: _State, anchors: t.Iterable[str]) -> Names:
        """Every name the resource's queries for these anchors read."""
        names = Names()
        for anchor in anchors:
            if anchor in state.queries:
                query = state.queries[anchor]
                names.update(template_names(query.text, sql=True, source=query.source))
        return names

    def _describe_all(self, state: _State, anchors: t.Iterable[str]) -> list[Step]:
        return [self._describe(state, state.queries[anchor]) for anchor in anchors if anchor in state.queries]

    # -- values ---------------------------------------------------------------------------------

    def _render_globals(self) -> None:
        context: dict[str, t.Any] = {**self.variables, "stack_name": self.stack.name, "stack_env": self.stack_env}
        for entry in self.stack.globals:
            value = self.renderer.value(entry.value, context, f"{self.stack.manifest}:{entry.line}: global {entry.name}")
            self.globals[entry.name] = context[entry.name] = value

    def _base(self, state: _State) -> dict[str, t.Any]:
        """What every template of the resource sees, before its props."""
        context: dict[str, t.Any] = {**self.variables, **self.globals}
        context.update({name: dict(exports) for name, exports in self.exports.items()})
        context.update(self.plain)
        context.update(state.captured)
        context.update(
            stack_name=self.stack.name,
            stack_env=self.stack_env,
            resource_name=state.resource.name,
            idempotency_token=state.token,
            this={**state.captured, "idempotency_token": state.token},
        )
        return context

    def _context(self, state: _State, names: Names, where: str) -> dict[str, t.Any]:
        """The variables for a template reading ``names``: the base, plus the props it needs (evaluated now)."""
        self._require(state, names)
        context = self._base(state)
        if self.describing:
            self._fill_unknown(state, names, context)
        props = {prop.name for prop in state.resource.props}
        for name in names.lines:
            if name in props:
                context[name] = self._prop(state, name, where, ())
        return self._stand_ins(context)

    def _stand_ins(self, value: t.Any) -> t.Any:
        """``value`` as rendered; when describing again (``_alternate``), with 0 for every placeholder in it."""
        if not self._alternate:
            return value
        if isinstance(value, dict):
            return {key: self._stand_ins(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._stand_ins(item) for item in value]
        return 0 if isinstance(value, str) and value in self.placeholders else value

    def _prop(self, state: _State, name: str, needed_by: str, evaluating: tuple[str, ...]) -> t.Any:
        if name in state.props:
            return state.props[name]
        prop = next(prop for prop in state.resource.props if prop.name == name)
        where = f"{self.stack.manifest}:{prop.line}: prop {name} of {state.resource.name}"
        if name in evaluating:
            raise StackError(f"{where}: props refer to each other: {' -> '.join([*evaluating, name])}")
        raw = prop_value(prop, self.stack_env, where)
        names = self._prop_reads(prop)
        context = self._base(state)
        if self.describing:
            self._fill_unknown(state, names, context)
        others = {other.name for other in state.resource.props} - {name}
        for other in [*names.lines, *prop.merge]:
            if other in others:
                context[other] = self._prop(state, other, needed_by, (*evaluating, name))
        context = self._stand_ins(context)
        try:
            value = self.renderer.value(raw, context, where)
        except UndefinedName as error:
            if not prop.has_default:
                raise StackError(f"{error} (needed by {needed_by})") from None
            value = self.renderer.value(prop.default, context, where)
        for item in prop.merge:
            if item not in context:
                raise StackError(f"{where}: merge names {item}, which is not defined")
            value = merge(value, context[item], name, item, where)
        self._secret_values(name, value)
        state.props[name] = value
        return value

    def _prop_reads(self, prop: t.Any) -> Names:
        """The names a prop's value (in this stack env) and its ``merge`` read."""
        where = f"{self.stack.manifest}:{prop.line}"
        names = value_names(prop_value(prop, self.stack_env, where), where)
        for item in prop.merge:
            names.lines.setdefault(item, prop.line)
        return names

    def _require(self, state: _State, names: Names) -> None:
        """Unavailable if a template (or a prop it reads) needs an export of a resource that is not there."""
        for upstream in self._upstreams(state, names, set()):
            why = self.unavailable.get(upstream)
            if why is not None and not (self.describing and why == "is to be created"):
                raise Unavailable(upstream, why)

    def _upstreams(self, state: _State, names: Names, seen: set[str]) -> set[str]:
        found: set[str] = set()
        props = {prop.name: prop for prop in state.resource.props}
        for name in names.lines:
            if name in props and name not in seen:
                seen.add(name)
                inner = self._prop_reads(props[name])
                inner.lines.pop(name, None)
                found |= self._upstreams(state, inner, seen)
            elif name in self.states and name != state.resource.name:
                found.add(name)
            elif name not in state.captured:  # an earlier resource's export wins over a global or -e of its name
                owner = self._plain_owner(state, name)
                if owner is not None:
                    found.add(owner)
        return found

    def _plain_owner(self, state: _State, name: str) -> str | None:
        """The latest resource before ``state``'s that exports ``name``."""
        owner = None
        for other in self.order:
            if other == state.resource.name:
                break
            if name in self.states[other].resource.export_names:
                owner = other
        return owner

    def _fill_unknown(self, state: _State, names: Names, context: dict[str, t.Any]) -> None:
        """Describing: what is not known yet (captured fields, exports of what is to be created) as placeholders."""
        for name, attribute in names.attributes:
            if name == "this" and attribute not in context["this"]:
                context["this"][attribute] = self._placeholder(f"{state.resource.name}.{attribute}")
            elif name in self.states and name != state.resource.name:
                context.setdefault(name, {}).setdefault(attribute, self._placeholder(f"{name}.{attribute}"))
        captured = self._captured_names.get(state.resource.name) or set()
        for name in names.lines:
            if name not in context and (name in captured or self._plain_owner(state, name) is not None):
                context[name] = self._placeholder(f"{state.resource.name}.{name}" if name in captured else name)

    def _placeholder(self, what: str) -> str:
        """A stand-in value (shaped like a UUID, so that format checks pass) that a shown request prints as ``<what>``."""
        for value, meaning in self.placeholders.items():
            if meaning == what:
                return value
        value = f"00000000-0000-4000-8000-{len(self.placeholders) + 1:012d}"
        self.placeholders[value] = what
        return value

    def _shown(self, text: str) -> str:
        for value, meaning in self.placeholders.items():
            text = text.replace(value, f"<{meaning}>")
        return self._masked(text)

    def _shown_request(self, request: dict[str, t.Any]) -> dict[str, t.Any]:
        return t.cast(dict, json.loads(self._shown(json.dumps(request))))

    def _secret_values(self, name: str, value: t.Any) -> None:
        """Strings under a name that looks secret (``password``, ``storage_config.secret`` ...) are masked wherever shown.

        A number, boolean or null (typed, or as text) is not: the name is only a guess
        (``session_keep_alive_time_in_secs``, ``private``), and masking ``120`` or ``true``
        wherever it appears would garble every title, id and query that contains it.
        """
        from cfql.redact import looks_secret

        if isinstance(value, dict):
            for key, item in value.items():
                self._secret_values(key if not looks_secret(name) else name, item)
        elif isinstance(value, list):
            for item in value:
                self._secret_values(name, item)
        elif looks_secret(name) and not _reads_as_scalar(value):
            self.secrets.add(as_text(value))

    def _masked(self, text: str) -> str:
        from cfql.redact import scrub

        return scrub(text, self.secrets)

    def _condition(self, state: _State) -> bool:
        """The resource's ``if``: a Jinja expression (``stack_env == 'prd'``), or stackql-deploy's rendered text form."""
        condition = state.resource.condition
        if condition is None:
            return True
        where = f"{self.stack.manifest}:{state.resource.condition_line}: if of {state.resource.name}"
        context = self._context(state, self._if_names(state), where)
        if "{{" not in condition:
            value = self.renderer.value(Unquoted("{{ " + condition + " }}", 0), context, where)
            if not isinstance(value, bool):
                raise StackError(f"{where}: the condition gives {value!r}, not true or false")
            return value
        return text_condition(condition, lambda part: self.renderer.value(part, context, where), where)

    def _decide_conditions(self, anchors: t.Collection[str]) -> None:
        """Turn off, before anything is sent, each resource whose ``if`` reads no export and is false, and what needs it.

        An ``if`` that reads an export is decided when its resource's turn comes.
        """
        for name in self.order:
            state = self.states[name]
            condition = state.resource.condition
            if_needs = self._upstreams(state, self._if_names(state), set()) if condition is not None else set()
            needs = self._upstreams(state, self._names(state, anchors), set()) | if_needs
            off = next((upstream for upstream in self.order if upstream in needs and upstream in self.off), None)
            if off is not None:
                self.off[name] = f"it needs {off}, which is skipped"
            elif condition is not None and not if_needs and not self._condition(state):
                self.off[name] = "its if is false"

    def _if_names(self, state: _State) -> Names:
        """The names a resource's ``if`` reads: a Jinja expression, or stackql-deploy's text with placeholders."""
        condition = state.resource.condition or "true"
        text = condition if "{{" in condition else "{{ " + condition + " }}"
        return template_names(text, source=f"{self.stack.manifest}:{state.resource.condition_line}")

    def _stack_exports(self) -> dict[str, t.Any]:
        """The manifest's stack-level exports (protected values masked), with stack_name and stack_env.

        An export of a resource skipped in this stack env is null.
        """
        values: dict[str, t.Any] = {"stack_name": self.stack.name, "stack_env": self.stack_env}
        known = {**self.variables, **self.globals, **self.plain}
        protected = {name for state in self.states.values() for name in state.resource.protected}
        for name in self.stack.exports:
            value = known.get(name)
            values[name] = MASK if name in protected else self._masked(value) if isinstance(value, str) else value
        return values

    # -- checks before anything is sent -------------------------------------------------------------

    def _check_providers(self) -> None:
        """Each provider the manifest lists (``name`` or ``name::version``) is in the connection's registry."""
        registry = self.conn.registry
        for entry in self.stack.providers:
            name, _, version = entry.partition("::")
            chosen = registry.chosen(name)
            if chosen is None:
                raise StackError(f"{self.stack.manifest}:{self.stack.providers_line}: provider {name} is not installed (cfql registry pull {name})")
            if version and chosen.version != version:
                have = ", ".join(item.version for item in registry.installed.get(name, []))
                raise StackError(
                    f"{self.stack.manifest}:{self.stack.providers_line}: the stack wants {name} {version}; installed: {have} "
                    f"(cfql registry pull {name} {version}, and --provider-version {name}={version})"
                )

    def _check_shape(self, command: str) -> None:
        """Each resource has the queries its type and this command need."""
        for name in self.order:
            state = self.states[name]
            queries, kind, manifest = state.queries, state.resource.type, f"{self.stack.manifest}:{state.resource.line}"
            if kind == "query" and "exports" not in queries:
                raise StackError(f"{manifest}: query resource {name} needs an /*+ exports */ query (or sql:)")
            if kind == "command" and "command" not in queries:
                raise StackError(f"{manifest}: command resource {name} needs a /*+ command */ query (or sql:)")
            if kind not in ("resource", "multi"):
                continue
            if "create" not in queries and "createorupdate" not in queries and command in ("build", "plan"):
                raise StackError(f"{manifest}: resource {name} needs a /*+ create */ (or /*+ createorupdate */) query")
            if "exists" not in queries and ("create" in queries or command not in ("build", "plan")):
                raise StackError(
                    f"{manifest}: resource {name} needs an /*+ exists */ query: without one cfql cannot tell whether it "
                    "is there (a statecheck alone cannot tell a missing resource from a drifted one)"
                )
            for op in state.resource.return_vals:
                query = queries.get(op) or queries.get("createorupdate")
                if query is not None and not returns_rows(query):
                    raise StackError(f"{query.where}: return_vals.{op} of {name} needs RETURNING in its /*+ {query.anchor} */ query")
            captured = self._captured(state)  # None: cannot be told before the run, which then says what is missing
            if state.resource.exports and "exports" not in queries and captured is not None and not set(state.resource.export_names) <= captured:
                raise StackError(f"{manifest}: resource {name} lists exports but has no /*+ exports */ query returning them")

    def _check_stack_exports(self) -> None:
        exported = {alias for state in self.states.values() for alias in state.resource.export_names}
        for name in self.stack.exports:
            if name not in exported and name not in self.globals and name not in self.variables:
                raise StackError(
                    f"{self.stack.manifest}:{self.stack.exports_line}: stack export {name} is neither a global, "
                    "a variable nor an export of any resource"
                )

    def _check_resource(self, state: _State, anchors: set[str]) -> None:
        """Every query the command may run parses, and every name it (or the ``if``) reads is defined."""
        condition = state.resource.condition
        if condition is not None:
            where = f"{self.stack.manifest}:{state.resource.condition_line}"
            names = self._if_names(state)
            for name in names.lines:
                self._check_name(state, name, where, names, ())
        for anchor, query in state.queries.items():
            if anchor in anchors:
                check_statements(query, self.conn.registry)
                names = template_names(query.text, sql=True, source=query.source)
                for name, line in names.lines.items():
                    self._check_name(state, name, f"{query.source}:{line}", names, ())

    def _check_name(self, state: _State, name: str, where: str, names: Names, props: tuple[str, ...]) -> None:
        resource = state.resource
        if name in BUILTIN_NAMES or name in self.renderer.environment.globals:
            if name == "this":
                self._check_this(state, names, where)
            return
        own = {prop.name: prop for prop in resource.props}
        if name in own and name in props[:-1]:
            raise StackError(f"{where}: props refer to each other: {' -> '.join([*props, name])}")
        if name in own and name not in props:
            prop = own[name]
            here = f"{self.stack.manifest}:{prop.line}"
            inner = self._prop_reads(prop)
            for inner_name in inner.lines:
                try:
                    self._check_name(state, inner_name, here, inner, (*props, name))
                except StackError as error:
                    if not prop.has_default or "refer to each other" in str(error):
                        raise StackError(f"{error} (prop {name} of {resource.name}, needed by {where})") from None
            if prop.has_default:  # what the default reads must be there whenever the value's names are not
                fallback = value_names(prop.default, here)
                for inner_name in fallback.lines:
                    self._check_name(state, inner_name, here, fallback, (*props, name))
            return
        if name in self.variables or name in self.globals:
            return
        if name in self.states:
            if self.order.index(name) >= self.order.index(resource.name):
                if name == resource.name:
                    self._check_this(state, Names(attributes={("this", a) for n, a in names.attributes if n == name}), where)
                    return
                raise StackError(f"{where}: undefined template variable: {name} (resource {name} comes later in the manifest)")
            exported = self.states[name].resource.export_names
            for owner, attribute in names.attributes:
                if owner == name and attribute not in exported:
                    raise StackError(
                        f"{where}: {name}.{attribute}: resource {name} does not export {attribute} "
                        f"(its exports: {', '.join(exported) or 'none'})"
                    )
            return
        if self._plain_owner(state, name) is not None:
            return
        captured = self._captured(state)
        if captured is None or name in captured:
            return
        raise StackError(
            f"{where}: undefined template variable: {name} (give it with -e {name}=VALUE, or define it in globals, "
            f"as a prop of {resource.name} or as an export of an earlier resource)"
        )

    def _check_this(self, state: _State, names: Names, where: str) -> None:
        captured = self._captured(state)
        if captured is None:
            return
        for owner, attribute in names.attributes:
            if owner == "this" and attribute not in captured and attribute != "idempotency_token":
                raise StackError(
                    f"{where}: this.{attribute}: neither {state.resource.name}'s exists query nor its exports or "
                    f"return_vals give {attribute}"
                )

    def _captured(self, state: _State) -> set[str] | None:
        """The names a resource's own queries can capture (exists columns, return_vals, exports); None: cannot tell."""
        name = state.resource.name
        if name not in self._captured_names:
            columns = select_names(state.queries["exists"].text) if "exists" in state.queries else set()
            if columns is not None:
                columns |= set(state.resource.export_names)
                columns |= {alias for pairs in state.resource.return_vals.values() for _, alias in pairs}
            self._captured_names[name] = columns
        return self._captured_names[name]


def _on_resources(state: _State, query: Query, script: t.Any) -> None:
    """A stack's queries call a provider's methods: SHOW, DESCRIBE, EXPLAIN or REGISTRY there is a mistake."""
    for statement in script.statements:
        if getattr(statement.plan, "method", None) is None:
            raise StepFailed(state.resource.name, query, f"line {statement.line}: only statements on a provider's resources run in a stack")


def _row_finds(state: _State, query: Query, row: t.Mapping[str, t.Any], what: str) -> bool:
    """Whether the one row of an exists query or statecheck (``what``) finds the resource: a ``count`` of 1, or any
    other row with a value that is not NULL (``min(id)`` over no rows is a row of NULLs: nothing was found).

    A count that is not a number, or more than 1, is an error: the query cannot tell which resource is meant.
    """
    if "count" not in row:
        return not all(value is None for value in row.values())
    count = row["count"]
    if isinstance(count, bool) or not isinstance(count, int):
        raise StepFailed(state.resource.name, query, f"count is {count!r}, not a number")
    if count > 1:
        raise StepFailed(state.resource.name, query, f"count is {count}; {what} must count 0 or 1")
    return count == 1


def _update_query(state: _State) -> Query | None:
    """The query that brings a found resource to what it declares: its update, else its createorupdate."""
    return state.queries.get("update") or state.queries.get("createorupdate")


def _names_one_object(script: t.Any) -> bool:
    """Whether a query is one statement on one object (its method's path ends with the object's id, and it
    sends one request).

    Only then does a 404 mean the object is not there: a 404 for a list (its
    parent is gone, or the path is wrong) says nothing about it, so it stays an error.
    """
    if len(script.statements) != 1 or script.statements[0].plan is None:
        return False
    if len(getattr(script.statements[0].plan, "rows", ())) > 1:  # an IN list: a 404 is one element's
        return False
    method = getattr(script.statements[0].plan, "method", None)
    return method is not None and method.path.rstrip("/").endswith("}")


def _reads_as_scalar(value: t.Any) -> bool:
    """Whether a value is a number, boolean or null, or text that reads as one (``"120"``, ``"true"``)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return value is None or isinstance(value, (bool, int, float))

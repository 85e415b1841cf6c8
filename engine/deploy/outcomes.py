"""What a deploy command reports: the word for each resource's outcome, and the structured result.

``DeployResult`` holds one ``ResourceOutcome`` per resource, in the order the
command handled them; ``exit_code`` is what ``cfql deploy`` exits with.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

# What happened to a resource.
CREATED, UPDATED, UNCHANGED, APPLIED = "created", "updated", "unchanged", "applied"
EXPORTED, RAN, SKIPPED = "exported", "ran", "skipped"
PASSED, DRIFTED, MISSING, UNCHECKED = "passed", "drifted", "missing", "not checked"
DELETED, ABSENT, KEPT, ROLLED_BACK = "deleted", "absent", "kept", "rolled back"
WOULD_CREATE, WOULD_UPDATE, WOULD_RUN, NO_CHANGE = "create", "update", "run", "no change"
FAILED, UNKNOWN, NOT_RUN, DRY_RUN = "failed", "outcome unknown", "not run", "dry run"

#: Outcomes that make the command fail (exit 1).
FAILURES = frozenset({FAILED, UNKNOWN, NOT_RUN, DRIFTED, MISSING, UNCHECKED})
#: Outcomes of a plan that are changes (exit 2).
PENDING = frozenset({WOULD_CREATE, WOULD_UPDATE, WOULD_RUN})


@dataclass
class Step:
    """A query a dry run or a plan shows: the rendered statement and the requests it sends first."""

    anchor: str
    where: str
    sql: str
    requests: list[dict[str, t.Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class ResourceOutcome:
    """What happened to one resource. ``action`` is one of the words in the constants above."""

    name: str
    type: str
    action: str
    error: str | None = None
    note: str = ""  # why, for an outcome that is not plain (a skipped resource, a plan that cannot tell yet)
    steps: list[Step] = field(default_factory=list)
    exports: dict[str, t.Any] = field(default_factory=dict, repr=False)  # as read, protected ones too: data, not output
    writes: int = 0  # statements sent that change something

    @property
    def ok(self) -> bool:
        return self.action not in FAILURES


@dataclass
class DeployResult:
    """The outcome of one command on a stack: one ``ResourceOutcome`` per resource, in the order they were handled."""

    command: str
    stack: str
    stack_env: str
    resources: list[ResourceOutcome] = field(default_factory=list)
    rolled_back: list[ResourceOutcome] = field(default_factory=list)
    exports: dict[str, t.Any] = field(default_factory=dict, repr=False)  # the stack's exports (protected ones masked)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in [*self.resources, *self.rolled_back])

    @property
    def changes_pending(self) -> bool:
        """A plan found something to create, update or run."""
        return any(outcome.action in PENDING for outcome in self.resources)

    @property
    def exit_code(self) -> int:
        """0: all done (a plan: nothing to change); 1: something failed; 2: a plan with changes pending."""
        if not self.ok:
            return 1
        return 2 if self.command == "plan" and self.changes_pending else 0

    def outcome(self, name: str) -> ResourceOutcome:
        """The outcome of the resource called ``name`` (KeyError if the command did not handle it)."""
        for outcome in self.resources:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

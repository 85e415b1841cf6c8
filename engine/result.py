"""The one typed result every statement returns, whichever way it was run."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from cfql.errors import OutcomeUnknownError

DESPATCHED = "The operation was despatched successfully"

#: What became of one element of a statement that sends one request per element (an IN list, rows of VALUES).
SUCCEEDED, FAILED, UNKNOWN, NOT_RUN = "succeeded", "failed", "outcome unknown", "not run"


@dataclass(frozen=True)
class ElementOutcome:
    """One element's request: which element (``participant_id = 'p1'``, ``row 2``), its status, and the error's line."""

    element: str
    status: str  # SUCCEEDED, FAILED, UNKNOWN or NOT_RUN
    error: str = ""


def describe_outcomes(outcomes: t.Sequence[ElementOutcome]) -> str:
    """``of 3 elements, 1 succeeded (participant_id = 'p1'), 1 failed (...), 1 not run (...)``."""
    parts = []
    for status in (SUCCEEDED, FAILED, UNKNOWN, NOT_RUN):
        named = [o.element for o in outcomes if o.status == status]
        if named:
            listed = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
            parts.append(f"{len(named)} {status} ({listed})")
    advice = f"; {OutcomeUnknownError.ADVICE}" if any(o.status == UNKNOWN for o in outcomes) else ""
    return f"of {len(outcomes)} elements, " + ", ".join(parts) + advice


@dataclass
class Result:
    """Rows as dicts in column order; ``message`` is set for statements that return no rows."""

    columns: list[str]
    rows: list[dict[str, t.Any]] = field(default_factory=list)
    message: str | None = None
    statement: str = ""
    dry_run: bool = False  # the rows describe requests that were not sent
    #: Per element, for a statement that sent one request per element (None for any other statement).
    outcomes: list[ElementOutcome] | None = None

    @property
    def rowcount(self) -> int:
        return len(self.rows)

    def tuples(self) -> list[tuple[t.Any, ...]]:
        return [tuple(row.get(c) for c in self.columns) for row in self.rows]

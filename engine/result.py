"""The one typed result every statement returns, whichever way it was run."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

DESPATCHED = "The operation was despatched successfully"


@dataclass
class Result:
    """Rows as dicts in column order; ``message`` is set for statements that return no rows."""

    columns: list[str]
    rows: list[dict[str, t.Any]] = field(default_factory=list)
    message: str | None = None
    statement: str = ""
    dry_run: bool = False  # the rows describe requests that were not sent

    @property
    def rowcount(self) -> int:
        return len(self.rows)

    def tuples(self) -> list[tuple[t.Any, ...]]:
        return [tuple(row.get(c) for c in self.columns) for row in self.rows]

"""What the sync and async cursors share: the last result, ``description``, ``rowcount`` and fetching.

Results are whole when a statement returns, so fetching only walks rows in
memory; the sync cursor's fetch methods return at once and the async
cursor's are coroutines over the same code.
"""

from __future__ import annotations

import typing as t

from cfql.errors import InterfaceError
from cfql.result import Result

Row = tuple[t.Any, ...]


class ResultCursor:
    arraysize = 1

    def __init__(self) -> None:
        self.result: Result | None = None
        self._position = 0
        self.closed = False

    @property
    def description(self) -> list[tuple[str, None, None, None, None, None, None]] | None:
        if self.result is None or not self.result.columns:
            return None
        return [(name, None, None, None, None, None, None) for name in self.result.columns]

    @property
    def rowcount(self) -> int:
        return -1 if self.result is None else self.result.rowcount

    def setinputsizes(self, sizes: t.Any) -> None:
        """Not needed: values carry their own types."""

    def setoutputsize(self, size: t.Any, column: t.Any = None) -> None:
        """Not needed: values carry their own types."""

    def close(self) -> None:
        self.closed = True

    def _load(self, result: Result) -> None:
        self.result = result
        self._position = 0

    def _load_many(self, sql: str, results: t.Sequence[Result]) -> None:
        rows = [row for result in results for row in result.rows]
        self._load(Result(results[-1].columns if results else [], rows, statement=sql))

    def _fetchone(self) -> Row | None:
        rows = self._fetchmany(1)
        return rows[0] if rows else None

    def _fetchmany(self, size: int | None) -> list[Row]:
        size = self.arraysize if size is None else size
        return self._take(self._position + size)

    def _fetchall(self) -> list[Row]:
        return self._take(None)

    def _take(self, end: int | None) -> list[Row]:
        self._check_open()
        if self.result is None:
            raise InterfaceError("no statement has been executed")
        rows = self.result.rows[self._position : end]
        self._position += len(rows)
        columns = self.result.columns
        return [tuple(row.get(c) for c in columns) for row in rows]

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("the cursor is closed")

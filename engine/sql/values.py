"""Turning SQL value expressions into Python values, keeping the type that was written.

``60`` stays an int, ``60.5`` a float, ``'60'`` a string, ``true`` a bool and
``NULL`` None; ``:name`` becomes a ``Bind`` filled in at execution time.
Anything else (a function call, a column reference) is refused with its text,
so nothing is silently sent as something the user did not write.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlglot import exp

from cfql.errors import ProgrammingError


@dataclass(frozen=True)
class Bind:
    """A named placeholder (``:name``) whose value comes with each execution."""

    name: str


class Deferred(str):
    """A value not known yet (an earlier statement's RETURNING, in a dry run): shown as ``:name``."""

    def __new__(cls, name: str) -> Deferred:
        return super().__new__(cls, ":" + name)


def sql_value(node: exp.Expression, where: str) -> t.Any:
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else sql_number(node.this, where)
    if isinstance(node, exp.ByteString):  # E'...': sqlglot has already applied its backslash escapes
        return node.this
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -sql_number(node.this.this, where)
    if isinstance(node, exp.Placeholder) and node.this:
        return Bind(str(node.this))
    if isinstance(node, exp.Paren):
        return sql_value(node.this, where)
    raise ProgrammingError(
        f"column {where}: only literals and :parameters are allowed as values, got {node.sql()}"
    )


def sql_number(text: str, where: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ProgrammingError(f"column {where}: {text!r} is not a number") from None


def literal_source(node: exp.Expression) -> tuple[int, bool] | None:
    """Where a plain number or string literal starts in the text (and whether it is negated), else None.

    The planner records this so that a later statement differing only in such
    literals can reuse the plan (engine/shapes.py).
    """
    negate = isinstance(node, exp.Neg)
    literal = node.this if negate else node
    if isinstance(literal, exp.Literal) and (not negate or not literal.is_string) and "start" in literal.meta:
        return literal.meta["start"], negate
    return None

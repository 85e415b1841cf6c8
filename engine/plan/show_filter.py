"""SHOW ... LIKE and SHOW ... WHERE: keeping the rows of a SHOW that match, evaluated at plan time.

``LIKE 'pattern'`` matches the first column (``name``, ``MethodName``,
``method``, ``version``), case-insensitively as every LIKE of cfql's local
SQL. ``WHERE`` takes a condition over the result's columns, compiled by the
same evaluator as a SELECT's local WHERE (``cfql.rows.rowexpr``): comparisons,
LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, with SQL's three-valued logic.

Column names are StackQL's spelling (``MethodName``, ``RequiredParams``,
``SQLVerb``). An unquoted name matches whatever its case — ``WHERE methodname
LIKE 'add%'`` works, as PostgreSQL and StackQL fold unquoted names and no two
columns of a SHOW differ only in case; a quoted name must match exactly. An
unknown name is one error naming the columns. A SHOW is answered when it is
planned, before any parameter is bound, so ``:param`` is refused there.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.plan.schema import closest
from cfql.result import Result
from cfql.rows.rowexpr import Compiler, Getter, like_regex


def filter_rows(result: Result, like: exp.Literal | None, where: exp.Where | None, kind: str) -> Result:
    """``result`` with only the rows LIKE or WHERE keeps."""
    if isinstance(like, exp.Literal) and result.columns:
        pattern = like_regex(like.this)
        key = result.columns[0]
        result.rows = [r for r in result.rows if pattern.fullmatch(str(r[key]))]
    if where is not None:
        keep = _predicate(where.this, result.columns, f"SHOW {kind} … WHERE")
        result.rows = [r for r in result.rows if keep(r, {}) is True]
    return result


def _predicate(condition: exp.Expression, columns: t.Sequence[str], context: str) -> Getter:
    folded = {c.lower(): c for c in columns}

    def leaf(node: exp.Expression, compiler: Compiler) -> Getter | None:
        if isinstance(node, exp.Placeholder):
            raise NotSupportedError(
                f"{context}: :{node.name} cannot be used, since a SHOW is answered before parameters are bound; "
                "write the value in the statement"
            )
        if isinstance(node, exp.Column):
            column = _column(node, columns, folded, context)
            return lambda row, params: row.get(column)
        return None

    return Compiler(context, leaf, _USABLE).predicate(condition)


#: What a SHOW's WHERE takes (no json_extract: a SHOW's columns are text; no :params: it is answered at plan time).
_USABLE = "the SHOW's columns, literals, = != < <= > >=, LIKE, IN, BETWEEN, IS [NOT] NULL, AND, OR, NOT"


def _column(node: exp.Column, columns: t.Sequence[str], folded: t.Mapping[str, str], context: str) -> str:
    name = node.name
    quoted = bool(node.this.args.get("quoted")) if isinstance(node.this, exp.Identifier) else False
    column = (name if name in columns else None) if quoted else folded.get(name.lower())
    if column is None:
        match = closest(name if quoted else name.lower(), columns if quoted else folded)
        hint = f" (did you mean {(match if quoted else folded[match])!r}?)" if match else ""
        raise ProgrammingError(f"{context}: unknown column {name!r}{hint}; columns: {', '.join(columns)}")
    return column

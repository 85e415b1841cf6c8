"""SQL expressions compiled into Python callables evaluated on API rows, with SQL's NULL semantics.

A SELECT runs most of its SQL locally, on the objects the API returns (see
``engine/select.py``), and it compiles each expression once, when the plan is
built, so that an unknown column or an unsupported construct fails before any
request is sent and the rows are then only evaluated. This module is that
compiler, apart from the planning, page reading and row pipeline that use it:

- scopes say what a name means: ``RowScope`` for columns of one API object
  (WHERE, ORDER BY, arguments of aggregates), ``GroupScope`` for GROUP BY keys
  and aggregates of a group (SELECT, HAVING and ORDER BY of aggregate queries);
- ``Compiler`` turns everything else (literals, ``:params``, comparisons, LIKE,
  IN, BETWEEN, IS, AND/OR/NOT) into getters ``(record, params) -> value``;
- the helpers at the end are SQL's three-valued logic: comparisons are typed
  (``'5' = 5`` is false, an ordering comparison of different types is
  unknown), NULL makes a comparison unknown, and LIKE is case-insensitive (as
  in StackQL's SQLite backend). ``like_regex`` also serves SHOW ... LIKE.
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing as t
from dataclasses import dataclass

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.plan.schema import did_you_mean
from cfql.provider.model import Method
from cfql.rows.jsonpath import walk
from cfql.rows.projection import json_path_steps
from cfql.sql.values import VALUE_NODES, Bind, short_sql, sql_value

Row = t.Mapping[str, t.Any]
Params = t.Mapping[str, t.Any]
# Compiled expressions take the record they are evaluated on (an API object, or
# a group's record in aggregate queries) and the statement's parameters.
Getter = t.Callable[[t.Any, Params], t.Any]

@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a GROUP BY query, kept in its group's record under ``slot``."""

    slot: str
    kind: str  # count, sum, avg, min, max
    arg: Getter | None  # None for COUNT(*)
    distinct: bool


def has_aggregate(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.AggFunc) for n in node.walk())


def and_all(predicates: list[Getter]) -> Getter | None:
    """The AND of predicates: None for none, the predicate itself for one."""
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return _and(predicates)


def _canonical(node: exp.Expression) -> str:
    """An expression's text without table qualifiers: ``m.title`` and ``title`` are one key."""
    def strip(sub: exp.Expression) -> exp.Expression:
        if isinstance(sub, exp.Column) and sub.table:
            return exp.column(sub.this.copy())
        return sub

    return node.transform(strip).sql()  # transform works on a copy


class RowScope:
    """Names visible on one API object: the row schema's columns."""

    def __init__(self, method: Method, columns: tuple[str, ...], parameters: t.Sequence[str] = ()):
        self.method = method
        self.columns = columns
        self.parameters = tuple(dict.fromkeys([*method.parameters, *parameters]))  # for did-you-mean

    def compiler(self, context: str) -> Compiler:
        return Compiler(context, self.leaf)

    def leaf(self, node: exp.Expression, compiler: Compiler) -> Getter | None:
        if isinstance(node, exp.Column):
            return self.column(node.name, compiler.context)
        if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)):
            source = node.this
            if not isinstance(source, (exp.Column, exp.JSONExtract, exp.JSONExtractScalar)):
                raise ProgrammingError(
                    f"{compiler.context}: json_extract needs a column as its first argument, got {source.sql()}"
                )
            get_source = compiler.value(source)
            steps = json_path_steps(node.expression, compiler.context)
            return lambda record, params: walk(get_source(record, params), steps)
        if isinstance(node, exp.AggFunc):
            raise ProgrammingError(f"{compiler.context}: aggregate functions are not allowed here ({node.sql()})")
        return None

    def column(self, name: str, context: str) -> Getter:
        if self.columns and name not in self.columns:
            params = self.method.parameters
            hint = (
                f" ({name} is a parameter of {self.method.name}: give it as {name} = value joined by AND)"
                if name in params else did_you_mean(name, [*self.columns, *self.parameters])
            )
            raise ProgrammingError(
                f"{context}: unknown column {name!r}{hint}; available: {', '.join(sorted(self.columns))}"
            )
        return lambda record, params: record.get(name)


class GroupScope:
    """Names visible after GROUP BY: the grouping keys and aggregates over each group."""

    def __init__(self, rows: RowScope, items: list[exp.Expression], group_by: list[exp.Expression]):
        self.rows = rows
        self.items = items
        self.aliases = {i.alias: i.this for i in items if isinstance(i, exp.Alias)}
        self.keys: dict[str, Getter] = {}
        self.aggregates: dict[str, Aggregate] = {}
        row_compiler = rows.compiler("GROUP BY")
        for key in group_by:
            if isinstance(key, exp.Literal) and not key.is_string:
                position = int(key.this) if key.this.isdigit() else 0
                if not 1 <= position <= len(items):
                    raise ProgrammingError(f"GROUP BY {key.sql()}: SELECT has {len(items)} column(s)")
                key = items[position - 1].unalias()
            elif isinstance(key, exp.Column) and not key.table and key.name not in rows.columns and key.name in self.aliases:
                key = self.aliases[key.name]
            if has_aggregate(key):
                raise ProgrammingError(f"GROUP BY: aggregate functions are not allowed here ({key.sql()})")
            if not isinstance(key, (exp.Column, exp.JSONExtract, exp.JSONExtractScalar)):
                raise NotSupportedError(
                    f"GROUP BY: unsupported expression {key.sql()} (use columns or json_extract(col, '$.path'))"
                )
            self.keys.setdefault(_canonical(key), row_compiler.value(key))

    def compiler(self, context: str) -> Compiler:
        return Compiler(context, self.leaf)

    def output(self) -> tuple[t.Callable[[t.Any, Params], dict[str, t.Any]], tuple[str, ...]]:
        compiler = self.compiler("SELECT")
        names, getters = [], []
        for item in self.items:
            if isinstance(item, exp.Star):
                raise ProgrammingError("SELECT * cannot be combined with GROUP BY or aggregate functions")
            expression = item.this if isinstance(item, exp.Alias) else item
            if isinstance(item, exp.Alias):
                names.append(item.alias)
            elif isinstance(expression, exp.Column):
                names.append(expression.name)
            else:
                names.append(expression.sql())
            getters.append(compiler.value(expression))
        pairs = tuple(zip(names, getters))
        return (lambda group, params: {name: get(group, params) for name, get in pairs}), tuple(names)

    def leaf(self, node: exp.Expression, compiler: Compiler) -> Getter | None:
        if isinstance(node, (exp.Column, exp.JSONExtract, exp.JSONExtractScalar, exp.AggFunc)):
            slot = _canonical(node)
            if slot in self.keys:
                return _slot(slot)
        if isinstance(node, exp.AggFunc):
            return _slot(self.aggregate(node, compiler.context))
        if isinstance(node, exp.Column) and not node.table and node.name in self.aliases and node.name not in self.rows.columns:
            return compiler.value(self.aliases[node.name])
        if isinstance(node, (exp.Column, exp.JSONExtract, exp.JSONExtractScalar)):
            if isinstance(node, exp.Column):
                self.rows.column(node.name, compiler.context)  # unknown columns say so first
            raise ProgrammingError(
                f"{compiler.context}: {node.sql()} must appear in GROUP BY or be used in an aggregate function"
            )
        return None

    def aggregate(self, node: exp.AggFunc, context: str) -> str:
        slot = _canonical(node)
        if slot in self.aggregates:
            return slot
        kind = _AGGREGATES.get(type(node))
        if kind is None:
            raise NotSupportedError(
                f"{context}: aggregate {node.sql()} is not supported (COUNT, SUM, AVG, MIN and MAX are)"
            )
        argument = node.this
        distinct = isinstance(argument, exp.Distinct)
        if distinct:
            if len(argument.expressions) != 1:
                raise NotSupportedError(f"{context}: {node.sql()} takes one expression")
            argument = argument.expressions[0]
        if node.args.get("expressions"):
            raise NotSupportedError(f"{context}: {node.sql()} takes one expression")
        if isinstance(argument, exp.Star):
            if kind != "count" or distinct:
                raise ProgrammingError(f"{context}: {node.sql()}: only COUNT takes *")
            arg = None
        else:
            if argument is None:
                raise ProgrammingError(f"{context}: {node.sql()} needs an argument")
            if has_aggregate(argument):
                raise ProgrammingError(f"{context}: {node.sql()}: aggregates cannot be nested")
            arg = self.rows.compiler(context).value(argument)
        self.aggregates[slot] = Aggregate(slot, kind, arg, distinct)
        return slot


_AGGREGATES: dict[type, str] = {exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max"}


def _slot(slot: str) -> Getter:
    return lambda group, params: group.get(slot)


Leaf = t.Callable[[exp.Expression, "Compiler"], Getter | None]


class Compiler:
    """SQL expressions → getters; leaves (columns, json_extract, aggregates) come from a scope."""

    #: What a refusal suggests instead: what the local evaluator of a SELECT takes.
    USABLE = "columns, json_extract(col, '$.path'), literals, :params, = != < <= > >=, LIKE, IN, BETWEEN, IS [NOT] NULL, AND, OR, NOT"

    def __init__(self, context: str, leaf: Leaf, usable: str = USABLE):
        self.context = context
        self.leaf = leaf
        self.usable = usable

    def predicate(self, node: exp.Expression) -> Getter:
        get = self.value(node)
        if _is_predicate(node):
            return get
        return lambda record, params: _truth(get(record, params))

    def value(self, node: exp.Expression) -> Getter:
        while isinstance(node, exp.Paren):
            node = node.this
        got = self.leaf(node, self)
        if got is not None:
            return got
        if isinstance(node, VALUE_NODES):
            if isinstance(node, exp.Neg) and not isinstance(node.this, exp.Literal):
                self._unsupported(node)
            value = sql_value(node, self.context)
            if isinstance(value, Bind):
                name = value.name
                return lambda record, params: params[name]
            return lambda record, params: value
        if type(node) in _COMPARISONS:
            return self._comparison(node)
        if isinstance(node, (exp.Like, exp.ILike)):
            return self._like(node, None)
        if isinstance(node, exp.Escape) and isinstance(node.this, (exp.Like, exp.ILike)):
            return self._like(node.this, node.expression)
        if isinstance(node, exp.In):
            return self._in(node)
        if isinstance(node, exp.Between):
            return self._between(node)
        if isinstance(node, exp.Is):
            return self._is(node)
        if isinstance(node, exp.And):
            return _and([self.predicate(node.this), self.predicate(node.expression)])
        if isinstance(node, exp.Or):
            return _or([self.predicate(node.this), self.predicate(node.expression)])
        if isinstance(node, exp.Not):
            return _not(self.predicate(node.this))
        self._unsupported(node)

    def _unsupported(self, node: exp.Expression) -> t.NoReturn:
        what = "function" if isinstance(node, exp.Func) else "expression"
        raise NotSupportedError(f"{self.context}: {what} {short_sql(node)} is not supported (use {self.usable})")

    def _comparison(self, node: exp.Expression) -> Getter:
        left, right = self.value(node.this), self.value(node.expression)
        compare = _COMPARISONS[type(node)]
        return lambda record, params: compare(left(record, params), right(record, params))

    def _like(self, node: exp.Expression, escape: exp.Expression | None) -> Getter:
        subject, pattern = self.value(node.this), self.value(node.expression)
        escape_char = None
        if escape is not None:
            escape_char = sql_value(escape, "ESCAPE") if isinstance(escape, VALUE_NODES) else None
            if not isinstance(escape_char, str) or len(escape_char) != 1:
                raise ProgrammingError(f"{self.context}: ESCAPE takes one character, got {escape.sql()}")
        negate = bool(node.args.get("negate"))

        def like(record: t.Any, params: Params) -> bool | None:
            text, pat = subject(record, params), pattern(record, params)
            if text is None or pat is None:
                return None
            matched = like_regex(_text(pat), escape_char).fullmatch(_text(text)) is not None
            return matched != negate

        return like

    def _in(self, node: exp.In) -> Getter:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            self._unsupported(node)
        subject = self.value(node.this)
        options = [self.value(option) for option in node.expressions]
        negate = bool(node.args.get("negate"))

        def in_(record: t.Any, params: Params) -> bool | None:
            value = subject(record, params)
            if value is None:
                return None
            unknown = False
            for option in options:
                result = _eq(value, option(record, params))
                if result:
                    return not negate
                unknown = unknown or result is None
            return None if unknown else negate

        return in_

    def _between(self, node: exp.Between) -> Getter:
        subject, low, high = self.value(node.this), self.value(node.args["low"]), self.value(node.args["high"])
        negate = bool(node.args.get("negate"))

        def between(record: t.Any, params: Params) -> bool | None:
            value = subject(record, params)
            result = _and3(_ge(value, low(record, params)), _le(value, high(record, params)))
            return result if result is None or not negate else not result

        return between

    def _is(self, node: exp.Is) -> Getter:
        subject = self.value(node.this)
        target = node.expression
        negate = bool(node.args.get("negate"))
        if isinstance(target, exp.Null):
            return lambda record, params: (subject(record, params) is None) != negate
        if isinstance(target, exp.Boolean):
            wanted = bool(target.this)
            return lambda record, params: (subject(record, params) is wanted) != negate
        self._unsupported(node)


def _is_predicate(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, (*_COMPARISONS, exp.Like, exp.ILike, exp.Escape, exp.In, exp.Between, exp.Is, exp.And, exp.Or, exp.Not))


def _truth(value: t.Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return bool(value)


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@functools.lru_cache(maxsize=256)
def like_regex(pattern: str, escape: str | None = None) -> re.Pattern[str]:
    """A LIKE pattern as a regex for ``fullmatch``: ``%`` any run, ``_`` any one character,
    ``escape`` (if given) makes the next character literal; case-insensitive."""
    parts, chars = [], iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            parts.append(re.escape(next(chars, "")))
        elif ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _kind(value: t.Any) -> int:
    if isinstance(value, (int, float)):  # booleans too: true = 1
        return 0
    if isinstance(value, str):
        return 1
    return 2


def _eq(a: t.Any, b: t.Any) -> bool | None:
    if a is None or b is None:
        return None
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return False
    return bool(a == b)


def _ne(a: t.Any, b: t.Any) -> bool | None:
    result = _eq(a, b)
    return None if result is None else not result


def _ordering(test: t.Callable[[t.Any, t.Any], bool]) -> t.Callable[[t.Any, t.Any], bool | None]:
    def compare(a: t.Any, b: t.Any) -> bool | None:
        if a is None or b is None or _kind(a) != _kind(b) or _kind(a) == 2:
            return None  # NULL, or values of different types: unknown
        return test(a, b)

    return compare


_lt = _ordering(lambda a, b: a < b)
_le = _ordering(lambda a, b: a <= b)
_gt = _ordering(lambda a, b: a > b)
_ge = _ordering(lambda a, b: a >= b)

_COMPARISONS: dict[type, t.Callable[[t.Any, t.Any], bool | None]] = {
    exp.EQ: _eq, exp.NEQ: _ne, exp.LT: _lt, exp.LTE: _le, exp.GT: _gt, exp.GTE: _ge,
}


def _and3(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _connective(decisive: bool) -> t.Callable[[list[Getter]], Getter]:
    """AND (``decisive=False``) or OR (``True``) of predicates, in SQL's three-valued logic:
    the first ``decisive`` result settles it, else any unknown makes it unknown."""

    def combine(predicates: list[Getter]) -> Getter:
        def evaluate(record: t.Any, params: Params) -> bool | None:
            unknown = False
            for predicate in predicates:
                result = predicate(record, params)
                if result is decisive:
                    return decisive
                unknown = unknown or result is None
            return None if unknown else not decisive

        return evaluate

    return combine


_and = _connective(False)
_or = _connective(True)


def _not(predicate: Getter) -> Getter:
    def not_(record: t.Any, params: Params) -> bool | None:
        result = predicate(record, params)
        return None if result is None else not result

    return not_

"""Every clause a statement carries is honoured or refused, never ignored.

sqlglot parses far more SQL than cfql runs: PostgreSQL's ``DELETE ... USING``,
``INSERT ... ON CONFLICT``, ``WITH``, a SELECT's ``GROUP BY`` where only
literals are expected, and so on. Each arrives as an *arg* of a node, and a
planner that only reads the args it knows would skip the others silently —
``DELETE ... LIMIT 0`` would delete. So before planning, the whole parsed
statement is walked and every node of a structural type (the statement, its
table, RETURNING, SELECT, LIMIT, ...) must carry only args its statement kind
honours: the whitelists below. Anything else is refused with one line naming
the clause and where it is. Expressions (comparisons, literals, functions)
are not listed: the code that evaluates them refuses what it cannot evaluate.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.sql import scanner
from cfql.sql.dialect import DescribeMethod, Exec, ExecParam, RegistryStatement, Replace, Show, tokenize
from cfql.sql.values import Bind, short_sql, sql_value

Honoured = t.Mapping[type, frozenset[str]]

_TARGET = frozenset({"this", "db", "catalog"})
_RETURNING = {exp.Returning: frozenset({"expressions"}), exp.Alias: frozenset({"this", "alias"})}
# In INSERT, UPDATE and DELETE a column is a bare name: a qualifier would be ignored, so it is refused.
_DML = {exp.Table: _TARGET, exp.Where: frozenset({"this"}), exp.Column: frozenset({"this"}), **_RETURNING}

HONOURED: dict[str, Honoured] = {
    "INSERT": {
        **_DML,
        exp.Insert: frozenset({"this", "expression", "returning"}),
        exp.Schema: frozenset({"this", "expressions"}),
        # The SELECT side has one candidate row of literals: WHERE, LIMIT and OFFSET over it are evaluated.
        exp.Select: frozenset({"expressions", "where", "limit", "offset"}),
        exp.Limit: frozenset({"expression"}),
        exp.Offset: frozenset({"expression"}),
        exp.Values: frozenset({"expressions"}),
        exp.Tuple: frozenset({"expressions"}),
    },
    "UPDATE": {**_DML, exp.Update: frozenset({"this", "expressions", "where", "returning"})},
    "REPLACE": {**_DML, Replace: frozenset({"this", "expressions", "where", "returning"})},
    "DELETE": {**_DML, exp.Delete: frozenset({"this", "where", "returning"})},
    "EXEC": {
        exp.Table: _TARGET,
        Exec: frozenset({"this", "method", "expressions"}),
        ExecParam: frozenset({"this", "expression", "json"}),
    },
    "SELECT": {
        exp.Select: frozenset({"expressions", "from_", "where", "group", "having", "order", "limit", "offset", "distinct"}),
        exp.From: frozenset({"this"}),
        exp.Table: frozenset({"this", "db", "catalog", "alias"}),
        exp.TableAlias: frozenset({"this"}),
        exp.Where: frozenset({"this"}),
        exp.Having: frozenset({"this"}),
        exp.Group: frozenset({"expressions"}),
        exp.Order: frozenset({"expressions"}),
        exp.Ordered: frozenset({"this", "desc", "nulls_first"}),
        exp.Distinct: frozenset({"expressions"}),  # expressions: COUNT(DISTINCT x)
        exp.Limit: frozenset({"expression"}),
        exp.Offset: frozenset({"expression"}),
        exp.Alias: frozenset({"this", "alias"}),
    },
    "SHOW": {
        Show: frozenset({"this", "target", "extended", "like", "where", "columns", "required"}),
        exp.Table: _TARGET,
        exp.Where: frozenset({"this"}),
        exp.Column: frozenset({"this"}),  # WHERE names a column of the SHOW's rows, unqualified
    },
    "DESCRIBE": {
        exp.Describe: frozenset({"this", "style"}),
        DescribeMethod: frozenset({"this", "method", "extended"}),
        exp.Table: _TARGET,
    },
    # No EXPLAIN: the planner hands it to cfql.plan.explain, which checks its statement as that one's own kind.
    "REGISTRY": {RegistryStatement: frozenset({"this", "provider", "version"})},
}

#: How a clause is called in messages (and the keyword its position is looked up by).
LABELS = {
    "with_": "WITH", "from_": "FROM", "where": "WHERE", "group": "GROUP BY", "having": "HAVING",
    "order": "ORDER BY", "limit": "LIMIT", "offset": "OFFSET", "distinct": "DISTINCT", "joins": "JOIN",
    "laterals": "LATERAL", "windows": "WINDOW", "qualify": "QUALIFY", "into": "INTO", "pivots": "PIVOT",
    "sample": "TABLESAMPLE", "locks": "FOR UPDATE/SHARE", "connect": "CONNECT BY", "match": "MATCH_RECOGNIZE",
    "prewhere": "PREWHERE", "distribute": "DISTRIBUTE BY", "sort": "SORT BY", "cluster": "CLUSTER BY",
    "settings": "SETTINGS", "format": "FORMAT", "options": "OPTIONS", "for_": "FOR", "exclude": "EXCLUDE",
    "operation_modifiers": "a SELECT modifier", "hint": "optimizer hints", "kind": "SELECT AS STRUCT/VALUE",
    "conflict": "ON CONFLICT", "using": "USING", "tables": "a list of tables", "alias": "an alias",
    "default": "DEFAULT VALUES", "overwrite": "OVERWRITE", "ignore": "IGNORE", "partition": "PARTITION",
    "table": "a table qualifier", "db": "a qualifier", "catalog": "a qualifier", "on": "DISTINCT ON",
    "with_fill": "WITH FILL", "columns": "a column list", "returning": "RETURNING",
    "grouping_sets": "GROUPING SETS", "cube": "CUBE", "rollup": "ROLLUP", "totals": "WITH TOTALS",
    "all": "ALL", "expressions": "a list", "siblings": "SIBLINGS", "limit_options": "WITH TIES",
}


@dataclass(frozen=True)
class Source:
    """Where a statement's tokens are, to say where a refused clause is: ``text`` is what the
    tokens' offsets index into, ``first_line`` the script line that text starts on."""

    text: str
    tokens: t.Sequence[Token] | None = None
    first_line: int = 1

    def at(self, label: str, node: t.Any = None, after: int = 0) -> str:
        """`` (line L, column C)`` of the clause's keyword at or after offset ``after``
        (else of the clause's first positioned part), or ``""`` when neither is known."""
        try:
            tokens = self.tokens if self.tokens is not None else tokenize(self.text)
        except ProgrammingError:
            return ""
        words = label.split()
        start = _keyword_start(tokens, words, after)
        if start is None and after:  # a keyword before the node's first positioned part (SELECT DISTINCT)
            start = _keyword_start(tokens, words, 0)
        if start is None:
            start = _first_start(node)
        if start is None:
            return ""
        line, column = scanner.line_and_column(self.text, start)
        return f" (line {line + self.first_line - 1}, column {column})"


def _keyword_start(tokens: t.Sequence[Token], words: list[str], after: int) -> int | None:
    """Offset of the first top-level (unparenthesised) token run spelling ``words`` from ``after`` on."""
    depth = 0
    wanted = [w.upper() for w in words]
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.start >= after and _spells(tokens, index, wanted):
            return token.start
    return None


def _spells(tokens: t.Sequence[Token], index: int, words: list[str]) -> bool:
    seen: list[str] = []
    while len(seen) < len(words) and index < len(tokens):
        if tokens[index].token_type in (TokenType.STRING, TokenType.NUMBER):
            return False
        seen.extend(tokens[index].text.upper().split())
        index += 1
    return seen[: len(words)] == words and len(seen) == len(words)


def _first_start(node: t.Any) -> int | None:
    nodes = node if isinstance(node, list) else [node]
    starts = [
        sub.meta["start"]
        for item in nodes
        if isinstance(item, exp.Expression)
        for sub in item.walk()
        if "start" in sub.meta
    ]
    return min(starts) if starts else None


def _present(value: t.Any) -> bool:
    return value is not None and value is not False and value != [] and value != ""


def check_clauses(statement: exp.Expression, kind: str, source: Source) -> None:
    """Refuse the first arg, anywhere in ``statement``, that ``kind`` does not honour on its node."""
    honoured = HONOURED[kind]
    for node in statement.walk():
        allowed = honoured.get(type(node))
        if allowed is None:
            continue
        for key, value in node.args.items():
            if key not in allowed and _present(value):
                label = LABELS.get(key, key.upper())
                if node is statement:
                    where, after = kind, 0
                else:
                    where, after = f"{kind} … {_part(node)}", _first_start(node) or 0
                hint = HINTS.get((kind, type(node), key), "")
                raise NotSupportedError(f"{where}: {label} is not supported{source.at(label, value, after)}{hint}")


#: A way forward, for the refusals users meet most.
HINTS = {
    ("INSERT", exp.Select, "from_"): "; INSERT takes literal values: SELECT v1, v2, ... or VALUES (...), (...) without FROM",
    ("UPDATE", exp.Update, "from_"): "; name the row in WHERE: UPDATE resource SET ... WHERE param = value AND ...",
    ("DELETE", exp.Delete, "using"): "; name the row in WHERE: DELETE FROM resource WHERE param = value AND ...",
}


_PARTS = {exp.Select: "SELECT", exp.Values: "VALUES", exp.Tuple: "VALUES row", exp.Returning: "RETURNING",
          exp.Schema: "column list", exp.Table: "table", exp.TableAlias: "table alias", exp.Limit: "LIMIT",
          exp.Offset: "OFFSET"}


def _part(node: exp.Expression) -> str:
    if isinstance(node, exp.Column):
        return f"column {node.sql()}"
    return _PARTS.get(type(node)) or LABELS.get(node.arg_key or "", node.key.upper())


# --------------------------------------------------------------------------
# LIMIT and OFFSET: constants, read once
# --------------------------------------------------------------------------


def count_value(node: exp.Expression | None, clause: str) -> t.Any:
    """LIMIT/OFFSET as a whole number, a ``Bind``, or None (absent, ``ALL`` or ``NULL``)."""
    if node is None:
        return None
    if isinstance(node, exp.Fetch):
        raise NotSupportedError("FETCH FIRST is not supported; use LIMIT")
    value_node = node.expression
    if isinstance(value_node, exp.Var) and value_node.name.upper() == "ALL":
        return None
    if not isinstance(value_node, (exp.Literal, exp.Null, exp.Placeholder, exp.Neg, exp.Boolean)):
        raise ProgrammingError(f"{clause} takes a whole number or a :parameter, got {short_sql(value_node)}")
    value = sql_value(value_node, clause)
    if value is None or isinstance(value, Bind):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        # one literal, the clause's own value: quoted like any scalar that is not secret
        raise ProgrammingError(f"{clause} takes a whole number >= 0 or a :parameter, got {value_node.sql()}")
    return value

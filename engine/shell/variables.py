"""Session variables: what ``:name`` means in a statement typed at the shell.

psql's ``\\gset`` made automatic: every result of exactly one row, from a
SELECT or a change with RETURNING, sets a variable per column (named by its
column name or alias), so ``INSERT ... RETURNING json_extract(data, '$.id')
AS mid;`` lets the next statement say ``WHERE meeting_id = :mid``. A result
of several rows (or none) sets nothing: no row is "the" value. SHOW and
DESCRIBE describe the manifests, not data, and set nothing either.

The values are bind parameters, never text pasted into SQL, so a value
cannot change what a statement means, and they keep their type (``60`` is a
number, ``'60'`` a string) because the engine checks types against the
schema. ``\\set`` values are read the way SQL literals are for that reason.

Values whose name is a secret name (``history.is_secret_name``) are never
printed: ``\\set`` lists them as ``***``.
"""

from __future__ import annotations

import typing as t

from cfql.shell import context
from cfql.shell.display import escape
from cfql.sql import scanner
from cfql.errors import ProgrammingError
from cfql.redact import MASK
from cfql.sql.values import sql_literal, sql_number

if t.TYPE_CHECKING:
    from cfql.result import Result

# Statements whose rows are data from the API (their first word).
_DATA_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "REPLACE", "DELETE", "EXEC", "EXECUTE"})
_WORDS = {"true": True, "false": False, "null": None}


def bindable(name: str) -> bool:
    """Whether ``:name`` reads as one parameter to the engine's scanner (so the user can type it)."""
    tokens = scanner.tokenize(":" + name)
    return len(tokens) == 1 and tokens[0].kind == scanner.PARAM and tokens[0].end == len(name) + 1


def parse_value(text: str) -> t.Any:
    """A ``\\set`` value: a quoted SQL string, a (signed) number, true/false/null, or else the text itself."""
    text = text.strip()
    tokens = context.tokenize(text)
    sign = 1
    if len(tokens) == 2 and tokens[0].is_op("-") and tokens[1].kind == "number" and tokens[0].end == tokens[1].start:
        sign, tokens = -1, tokens[1:]
    if len(tokens) != 1 or tokens[0].end != len(text):
        return text
    token = tokens[0]
    if token.kind == "string" and token.closed:
        return token.value
    if token.kind == "number":
        try:
            return sign * sql_number(token.text, "")  # as the planner reads one: 60 an int, 1.5 a float
        except ProgrammingError:  # 0x..., 1e
            return text
    if token.kind == "name" and sign == 1 and text.lower() in _WORDS:
        return _WORDS[text.lower()]
    return text


class Variables(dict[str, t.Any]):
    """The shell's ``:name`` values, passed as parameters to every statement and script."""

    def take(self, sql: str, result: Result) -> list[str]:
        """Set a variable per column if ``result`` (of ``sql``) is one row of data; the names set."""
        if result.dry_run or not result.columns or len(result.rows) != 1 or not _is_data(sql):
            return []
        row = result.rows[0]
        names = [name for name in result.columns if bindable(name)]
        self.update({name: row.get(name) for name in names})
        return names

    def listing(self, is_secret: t.Callable[[str], bool]) -> str:
        """``name = value`` lines, sorted; a secret-named value shown as ``***``."""
        if not self:
            return "No variables are set; a one-row result sets one per column, or \\set NAME VALUE."
        width = max(len(name) for name in self)
        return "\n".join(
            f"{name:<{width}} = {MASK if is_secret(name) else escape(sql_literal(value))}" for name, value in sorted(self.items())
        )


def _is_data(sql: str) -> bool:
    for token in scanner.iter_tokens(sql):
        if token.kind != scanner.COMMENT:
            return sql[token.start : token.end].upper() in _DATA_VERBS
    return False

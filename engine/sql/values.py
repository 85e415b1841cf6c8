"""Turning SQL value expressions into Python values, keeping the type that was written.

``60`` stays an int, ``60.5`` a float, ``'60'`` a string, ``true`` a bool and
``NULL`` None; ``:name`` becomes a ``Bind`` filled in at execution time.
Anything else (a function call, a column reference) is refused with its text,
so nothing is silently sent as something the user did not write.
"""

from __future__ import annotations

import itertools
import json
import re
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

    @property
    def name(self) -> str:
        """The ``:name`` it stands for, without the colon (as ``Bind.name``)."""
        return self[1:]


def sql_value(node: exp.Expression, where: str) -> t.Any:
    if isinstance(node, exp.Literal):
        return sql_text(node.this, where) if node.is_string else sql_number(node.this, where)
    if isinstance(node, exp.ByteString):  # E'...': sqlglot has already applied its backslash escapes
        return sql_text(node.this, where)
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
        f"column {where}: only literals and :parameters are allowed as values, got {short_sql(node)}"
    )


#: The nodes ``sql_value`` reads as a value: literals, NULL, a negated number, a ``:param``.
VALUE_NODES = (exp.Literal, exp.ByteString, exp.Boolean, exp.Null, exp.Neg, exp.Placeholder)


def short_sql(node: exp.Expression, width: int = 60) -> str:
    """A part of a statement as a message may quote it: one line, cut to ``width``, string literals as ``'…'``.

    Messages about a statement's *shape* quote its SQL, and a string literal
    there may be anything — a password, a JSON body holding one; the shape is
    what the message is about (see ``cfql.plan.schema`` for messages about values).
    """

    def mask(sub: exp.Expression) -> exp.Expression:
        if (isinstance(sub, exp.Literal) and sub.is_string) or isinstance(sub, exp.ByteString):
            return exp.Literal.string("…")
        return sub

    text = " ".join(node.transform(mask).sql().split())  # transform works on a copy
    return text if len(text) <= width else text[: width - 1] + "…"


def sql_text(value: str, where: str) -> str:
    """A string literal that UTF-8 can carry: not half of a UTF-16 pair (a template's ``"\\ud800"``)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = value[error.start]
            raise ProgrammingError(f"column {where}: {bad!r} is half of a UTF-16 pair, not a character") from None
    return value


def sql_literal(value: t.Any) -> str:
    """A value as SQL writes it: ``'text'`` (quotes doubled), ``60``, ``true``, ``NULL``, JSON text for structures."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'"


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


# JSON read from anything cfql does not control (a literal, a --iqldata file, an API answer) may
# be nested this deep and no deeper: the checks and renderers that walk it recurse, and Python's
# stack ends near 1,000 frames.
MAX_JSON_DEPTH = 512
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")  # an escaped UTF-16 surrogate, paired or not
_STRUCTURE = re.compile(r'[\[\]{}"\\]')  # what changes depth, and what starts or escapes inside a string
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def load_json(text: str | bytes) -> t.Any:
    """``json.loads`` for untrusted text: at most ``MAX_JSON_DEPTH`` levels, no NaN or Infinity, no half surrogate pairs.

    Every failure is a ``json.JSONDecodeError`` (a ValueError with ``msg`` and
    ``pos``), so callers report a document too deep as they report one that
    is malformed; nothing here ever raises RecursionError.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(json.detect_encoding(text))  # as json.loads does, but strict: no lone surrogates
    many = text.count("[") + text.count("{") > MAX_JSON_DEPTH  # only then can it be too deep
    if many and _may_be_too_deep(text):
        _check_depth(text)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError, _Constant) as failure:
        if many:  # the fast filter is exact for well-formed text only: the exact check speaks first
            _check_depth(text)
        if isinstance(failure, _Constant):
            name = failure.name
            raise json.JSONDecodeError(f"{name} is not valid JSON", text, max(text.find(name), 0)) from None
        if isinstance(failure, RecursionError):  # unreachable after _check_depth; kept as a guard
            raise json.JSONDecodeError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", text, 0) from None
        raise
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:  # maybe half of a pair only: then no UTF-8 can carry it (to the API, or to stdout)
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError(
                f"{surrogate.group()} is half of a UTF-16 pair, not a character", text, surrogate.start()
            ) from None
    return value


def _may_be_too_deep(text: str) -> bool:
    """A fast filter for ``_check_depth``, in C: the brackets outside strings, summed.

    An API page of meetings holds thousands of brackets, and walking them in
    Python costs several times the parse itself. Escapes are dropped, then
    everything but quotes and brackets, then the strings (quote to quote, as
    JSON's lexer pairs them); the brackets left give the depth. A string left
    open keeps its brackets, so this can only say "maybe" too often, and
    ``_check_depth`` then decides exactly.
    """
    raw = _ESCAPE.sub(b"", text.encode("utf-8", "surrogatepass"))
    brackets = _QUOTED.sub(b"", raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")).replace(b'"', b"")
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _check_depth(text: str) -> None:
    """Fail at the first bracket past ``MAX_JSON_DEPTH`` levels, skipping brackets inside strings."""
    depth = 0
    in_string = False
    skip = -1  # the index of a character escaped by a backslash
    for match in _STRUCTURE.finditer(text):
        index = match.start()
        if index == skip:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip = index + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise json.JSONDecodeError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", text, index)
        elif char in "]}":
            depth -= 1


def check_depth(value: t.Any, what: str) -> None:
    """Refuse a structure deeper than ``MAX_JSON_DEPTH`` (or holding itself), without recursing.

    For values built by other parsers (YAML), which may also share one node
    many times over (aliases): at most a million nodes are visited. A string
    holding half a UTF-16 pair is refused too: no UTF-8 request can carry it.
    """
    stack = [(value, 1)]
    budget = 1_000_000
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{what} holds half of a UTF-16 pair, not a character: {item!r}") from None
        if not isinstance(item, (dict, list, tuple)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"{what} nested deeper than {MAX_JSON_DEPTH} levels")
        budget -= len(item)
        if budget < 0:
            raise ValueError(f"{what} holds more than a million values")
        children = [*item, *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


class _Constant(Exception):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's json reads them, but they are not JSON."""

    def __init__(self, name: str):
        self.name = name


def _no_constant(name: str) -> t.NoReturn:
    raise _Constant(name)

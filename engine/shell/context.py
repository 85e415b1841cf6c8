"""Reading a statement while it is being typed: what it targets, supplies, and where the cursor is.

The engine's parser wants finished SQL, but a shell sees
``INSERT INTO provider.service.resource (acc`` on every keystroke. This
module reads the engine's own scanner (``cfql.sql.scanner``, so a string or
comment ends here exactly where it will end when the statement runs) and
tracks just enough state — verb, target resource, clause, the names supplied so
far and the literal given for each — for completion, the toolbar and history
redaction. ``EXPLAIN statement`` reads as the statement it explains. It never
raises and imports nothing heavy, so it is safe to call on every key press;
what a method lacks is judged by the resolver's own rules (``judge``), loaded
once a statement names a resource.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from cfql.sql import scanner

if t.TYPE_CHECKING:
    from cfql.plan.resolver import Candidate
    from cfql.provider.model import Method, Resource
    from cfql.provider.registry import Registry

# First word of a statement → the SQL verb the resolver knows it by.
VERBS = {
    "SELECT": "select",
    "INSERT": "insert",
    "UPDATE": "update",
    "REPLACE": "replace",
    "DELETE": "delete",
    "EXEC": "exec",
    "EXECUTE": "exec",
    "SHOW": "show",
    "DESCRIBE": "describe",
    "DESC": "describe",
    "REGISTRY": "registry",
}
#: The words after SHOW [EXTENDED] that say what it shows (``cfql.sql.dialect.SHOW_KINDS``).
SHOW_KINDS = frozenset({"PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "INSERT", "VERSION"})
# Keywords after which a provider.service.resource name comes.
TARGET_KEYWORDS = frozenset({"INTO", "FROM", "IN", "UPDATE", "REPLACE", "EXEC", "EXECUTE", "DESCRIBE", "DESC"})
_CLAUSES = frozenset({"SET", "WHERE", "RETURNING", "ORDER", "GROUP", "HAVING", "LIMIT", "OFFSET"})
#: The verbs whose WHERE gives a parameter by ``param IN (...)`` (SELECT filters on such a list, here).
_LISTING = frozenset({"update", "replace", "delete"})


@dataclass(frozen=True)
class Token:
    """A token as the shell reads it: dotted names are one ``name`` (``provider.service.reso``)."""

    kind: str  # string, quoted, param, name, number, op
    text: str
    start: int
    end: int
    closed: bool = True  # False for a string or quoted name still being typed
    delimiter: str = ""  # a string's opening delimiter: ', E', $tag$ ...

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "name" else self.text

    @property
    def value(self) -> str:
        """A string literal's content: delimiters removed, ``''`` undoubled and (in ``E'...'``) escapes undone."""
        delimiter = self.delimiter or "'"
        closer = delimiter if delimiter.startswith("$") else "'"
        body = self.text[len(delimiter) : len(self.text) - len(closer) if self.closed else len(self.text)]
        if delimiter.startswith("$"):
            return body
        if delimiter[0] in "Ee":
            body = _BACKSLASH_ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), body)
        return body.replace("''", "'")

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text


_BACKSLASH_ESCAPE = re.compile(r"\\([\s\S])")
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_KINDS = {scanner.WORD: "name", scanner.NUMBER: "number", scanner.STRING: "string", scanner.QUOTED: "quoted"}


def tokenize(text: str) -> list[Token]:
    """Significant tokens (no whitespace or comments); never fails, whatever the text."""
    tokens: list[Token] = []
    for token in scanner.iter_tokens(text):
        kind = token.kind
        if kind == scanner.COMMENT:
            continue
        piece = text[token.start : token.end]
        last = tokens[-1] if tokens else None
        if (
            last is not None
            and last.kind == "name"
            and last.end == token.start
            and (piece == "." or (last.text.endswith(".") and kind in (scanner.WORD, scanner.NUMBER)))
        ):
            tokens[-1] = Token("name", last.text + piece, last.start, token.end)
        elif kind == scanner.PARAM and token.delimiter == ":":
            # ``:name`` reads as ":" and a name, as it always has here (a bind, not a column).
            tokens.append(Token("op", ":", token.start, token.start + 1))
            tokens.append(Token("name", piece[1:], token.start + 1, token.end))
        elif kind == scanner.PARAM or piece in ("@", "@@"):  # a bare "@" is a parameter being typed
            tokens.append(Token("param", piece, token.start, token.end))
        elif kind in _KINDS:
            tokens.append(Token(_KINDS[kind], piece, token.start, token.end, token.closed, token.delimiter))
        else:  # operators, ";", and the odd "$"
            tokens.append(Token("op", piece, token.start, token.end))
    return tokens


def split(tokens: list[Token]) -> list[list[Token]]:
    """Tokens cut into statements at ``;`` (the last one may be empty)."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.is_op(";"):
            statements.append([])
        else:
            statements[-1].append(token)
    return statements


@dataclass
class Shape:
    """What a (possibly unfinished) statement says so far.

    ``columns`` are INSERT columns and EXEC ``@names`` (either a parameter or a
    body field), ``body`` the SET names, ``params`` the WHERE names — the three
    ways the resolver receives names. ``assignments`` pairs each name with the
    token of its literal, positionally for INSERT ... SELECT/VALUES.
    """

    verb: str | None = None
    explain: bool = False  # the statement follows EXPLAIN
    kind: str | None = None  # what SHOW shows (PROVIDERS ... INSERT, VERSION); METHOD for DESCRIBE METHOD
    target: tuple[str, ...] = ()
    method: str | None = None
    columns: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    assignments: list[tuple[str, Token]] = field(default_factory=list)
    # Where the scan ended, for completion.
    clause: str | None = None
    depth: int = 0
    expect_target: bool = False
    in_columns: bool = False
    value_index: int | None = None
    last: Token | None = None
    before_last: Token | None = None

    @property
    def resolves(self) -> str | None:
        """The verb whose methods the statement chooses among: INSERT's for SHOW INSERT INTO."""
        return "insert" if self.verb == "show" and self.kind == "INSERT" else self.verb

    @property
    def supplied(self) -> list[str]:
        return [*self.columns, *self.body, *self.params]

    @property
    def value_column(self) -> str | None:
        """The INSERT column the next value belongs to, when the cursor is at one."""
        if self.value_index is not None and self.value_index < len(self.columns):
            return self.columns[self.value_index]
        return None


def scan(tokens: t.Sequence[Token]) -> Shape:
    """Walk one statement's tokens and record what it supplies; tolerant of any input."""
    shape = Shape()
    pending: str | None = None  # a name whose value comes next (after ``=``)
    item_start = False  # next token starts an INSERT value item
    for index, token in enumerate(tokens):
        up = token.upper
        previous = tokens[index - 1] if index else None
        if pending is not None:
            shape.assignments.append((pending, token))
            pending = None
        if shape.verb is None:
            if up == "EXPLAIN" and not shape.explain:
                shape.explain = True
                continue
            shape.verb = VERBS.get(up, "?")
            shape.clause = shape.verb
            shape.expect_target = shape.verb in ("update", "replace", "exec", "describe")
            continue
        if item_start:
            item_start = False
            column = shape.value_column
            if column is not None and token.kind in ("string", "number"):
                shape.assignments.append((column, token))
        if shape.verb == "show" and shape.kind is None and up in SHOW_KINDS:
            shape.kind = up
        if shape.expect_target:
            if shape.verb == "describe" and up == "METHOD" and shape.kind is None:
                shape.kind = up
                continue
            if token.kind == "name" and up != "EXTENDED":
                parts = tuple(token.text.split("."))
                if shape.verb in ("exec", "describe") and len(parts) > 3:
                    shape.target, shape.method = parts[:3], parts[3]
                else:
                    shape.target = parts
                shape.expect_target = False
                shape.clause = "target"
                continue
            if up == "EXTENDED":
                continue
            shape.expect_target = False
        if token.is_op("("):
            shape.depth += 1
            if shape.resolves == "insert" and shape.clause == "target" and shape.depth == 1:
                shape.in_columns, shape.clause = True, "columns"
            elif shape.clause == "values" and shape.depth == 1:
                shape.value_index, item_start = 0, True
        elif token.is_op(")"):
            shape.depth = max(0, shape.depth - 1)
            if shape.in_columns and shape.depth == 0:
                shape.in_columns, shape.clause = False, "after_columns"
        elif token.is_op(","):
            if shape.value_index is not None and shape.depth == (1 if shape.clause == "values" else 0):
                shape.value_index += 1
                item_start = True
        elif token.is_op("=") and previous is not None and previous.kind in ("name", "param"):
            name = previous.text.lstrip("@")
            if previous.text.startswith("@@"):
                continue
            if shape.clause == "set":
                shape.body.append(name)
            elif shape.clause == "where":
                shape.params.append(name)
            elif shape.verb == "exec" and shape.clause == "target":
                shape.columns.append(name)
            pending = name
        elif up == "IN" and shape.clause == "where" and shape.verb in _LISTING and previous is not None and previous.kind == "name":
            shape.params.append(previous.text)  # ``param IN (...)``: one request per element
        elif token.kind == "name" and shape.depth == 0:
            if up in TARGET_KEYWORDS and shape.target == ():
                shape.expect_target, shape.clause = True, up.lower()
            elif up in _CLAUSES or (up == "LIKE" and shape.verb == "show"):
                shape.clause, shape.value_index = up.lower(), None
            elif up in ("SELECT", "VALUES") and shape.verb == "insert":
                shape.clause = "values" if up == "VALUES" else "values_select"
                shape.value_index, item_start = (None, False) if up == "VALUES" else (0, True)
        elif shape.in_columns and token.kind == "name" and shape.depth == 1:
            shape.columns.append(token.text)
    if tokens:
        shape.last = tokens[-1]
        shape.before_last = tokens[-2] if len(tokens) > 1 else None
    return shape


def find_resource(registry: Registry, parts: t.Sequence[str]) -> Resource | None:
    """The resource a complete ``provider.service.resource`` names, or None (never raises)."""
    if len(parts) != 3:
        return None
    return registry.resource(*parts)


def candidate_methods(resource: Resource, shape: Shape) -> list[Method]:
    """Methods the statement's verb could resolve to (EXEC: the one it names)."""
    if shape.verb == "exec":
        method = resource.methods.get(shape.method or "")
        return [method] if method else []
    if shape.resolves in ("select", "insert", "update", "replace", "delete"):
        return resource.methods_for(t.cast(str, shape.resolves))
    return []


def judge(method: Method, shape: Shape) -> Candidate:
    """What ``method`` still needs from the statement and what it would refuse, by the resolver's rules."""
    from cfql.plan import resolver  # the rules themselves, not a copy; loaded with the first named resource

    if shape.verb == "exec":
        return resolver.judge_exec(method, shape.columns)
    if shape.verb == "select":  # a WHERE name that is no parameter of the method may be a column it filters on
        return resolver.judge_select(method, shape.params)
    return resolver.judge(method, shape.params, shape.body, shape.columns)


def judged(resource: Resource, shape: Shape) -> list[Candidate]:
    """Each candidate method, judged against the statement so far."""
    return [judge(method, shape) for method in candidate_methods(resource, shape)]


def plausible_methods(resource: Resource, shape: Shape) -> list[Method]:
    """Candidates that accept everything supplied so far (all candidates if none does)."""
    candidates = judged(resource, shape)
    accepting = [c.method for c in candidates if not c.refused]
    return accepting or [c.method for c in candidates]

"""A resource's queries: the anchored sections of ``resources/<name>.iql``, or the manifest's inline ``sql``.

An anchor is a ``/*+ name[, option=value ...] */`` comment, found by cfql's
SQL scanner (so ``/*+`` inside a string or a Jinja expression is not one);
its section runs to the next anchor. ``preflight`` is another name for
``exists`` and ``postdeploy`` for ``statecheck``, as in stackql-deploy.
Unknown anchors and options are errors naming their line: a ``callback`` or
``troubleshoot`` that stackql-deploy would run and cfql would ignore must
not pass unnoticed.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from cfql.deploy.manifest import Resource, Stack, inside_resources
from cfql.errors import StackError
from cfql.script.sources import read_text
from cfql.sql import scanner

ANCHORS = ("exists", "create", "update", "createorupdate", "statecheck", "exports", "delete", "command")
ALIASES = {"preflight": "exists", "postdeploy": "statecheck"}
#: Option -> (default, largest allowed). Retries count extra tries; delays are seconds.
OPTIONS = {
    "retries": (1, 100),
    "retry_delay": (0, 3600),
    "postdelete_retries": (10, 100),
    "postdelete_retry_delay": (5, 3600),
}
#: Tokens none of whose later lines may start with ``/*+``: one that does was left open and swallowed an anchor.
_SWALLOWING = (scanner.PLACEHOLDER, scanner.BLOCK, scanner.STRING, scanner.QUOTED)


@dataclass(frozen=True)
class Query:
    """One anchored section: its template text, where it starts, and its options."""

    anchor: str
    text: str  # padded with newlines so that its lines are the file's lines
    source: str
    line: int
    options: dict[str, int] = field(default_factory=dict)

    def option(self, name: str) -> int:
        return self.options.get(name, OPTIONS[name][0])

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def load_queries(stack: Stack, resource: Resource) -> dict[str, Query]:
    """The resource's queries by anchor: from its file, or for query/command resources its inline ``sql``."""
    if resource.sql is not None:
        anchor = "exports" if resource.type == "query" else "command"
        padded = "\n" * (resource.sql_line - 1) + resource.sql
        return {anchor: Query(anchor, padded, stack.manifest, resource.sql_line)}
    path = inside_resources(stack.directory, resource.file or f"{resource.name}.iql", f"{stack.manifest}:{resource.line}: resource {resource.name}")
    if not path.is_file():
        raise StackError(f"{stack.manifest}:{resource.line}: resource {resource.name}: no query file {path}")
    source = str(path)
    return parse_queries(read_text(str(path), source, StackError), source)


def parse_queries(text: str, source: str) -> dict[str, Query]:
    """Split ``text`` at its anchors; StackError for text before the first, a repeated or unknown anchor or option."""
    tokens = scanner.tokenize(text, template=True)
    for token in tokens:  # an unclosed {{, string or name would swallow the anchors after it
        for part in (*token.inner, token):  # named where it opens, even when a later query's quote closes it
            later_lines = part.text(text).splitlines()[1:]
            spans_anchor = part.kind in _SWALLOWING and any(line.lstrip().startswith("/*+") for line in later_lines)
            if (not part.closed and part.kind != scanner.COMMENT) or spans_anchor:
                line = scanner.line_and_column(text, part.start)[0]
                raise StackError(f"{source}:{line}: {part.delimiter} is not closed before the next anchor or the end")
    anchors = [token for token in tokens if token.kind == scanner.COMMENT and text.startswith("/*+", token.start)]
    queries: dict[str, Query] = {}
    first = anchors[0].start if anchors else len(text)
    for token in tokens:
        if token.start >= first:
            break
        if token.kind != scanner.COMMENT:
            line, column = scanner.line_and_column(text, token.start)
            raise StackError(f"{source}:{line}:{column}: text before the first anchor (/*+ exists */, /*+ create */ ...)")
    for index, token in enumerate(anchors):
        line = scanner.line_and_column(text, token.start)[0]
        if not token.closed:
            raise StackError(f"{source}:{line}: the anchor comment is not closed")
        anchor, options = _anchor(text[token.start + 3 : token.end - 2], source, line)
        if anchor in queries:
            raise StackError(f"{source}:{line}: a second /*+ {anchor} */ (the first is at line {queries[anchor].line})")
        end = anchors[index + 1].start if index + 1 < len(anchors) else len(text)
        body = text[token.end : end]
        if all(part.kind == scanner.COMMENT for part in scanner.tokenize(body, template=True)):
            raise StackError(f"{source}:{line}: /*+ {anchor} */ has no query")
        padded = "\n" * text.count("\n", 0, token.end) + body  # the body starts where the anchor comment ends
        queries[anchor] = Query(anchor, padded, source, line, options)
    return queries


def _anchor(inside: str, source: str, line: int) -> tuple[str, dict[str, int]]:
    """``exists, retries=3`` -> ("exists", {"retries": 3})."""
    name, *settings = [part.strip() for part in inside.split(",")]
    name = ALIASES.get(name.lower(), name.lower())
    if name not in ANCHORS:
        raise StackError(f"{source}:{line}: unknown anchor /*+ {name} */ (cfql deploy knows {', '.join(ANCHORS)})")
    options: dict[str, int] = {}
    for setting in settings:
        key, equals, value = (part.strip() for part in setting.partition("="))
        if key not in OPTIONS or not equals:
            raise StackError(f"{source}:{line}: unknown anchor option {setting!r} (known: {', '.join(OPTIONS)})")
        largest = OPTIONS[key][1]
        if not (value.isascii() and value.isdigit()) or int(value) > largest:  # "²" is a digit int() refuses
            raise StackError(f"{source}:{line}: {key} must be a whole number from 0 to {largest}, not {value!r}")
        options[key] = int(value)
    return name, options


def _skeleton(text: str, keep_blocks: bool) -> str | None:
    """``text`` with each top-level ``{{ }}`` standing as NULL (a placeholder inside a string is string content).

    ``{% %}`` blocks are dropped, or (``keep_blocks`` False) make the answer
    None: a template's control flow can give any shape. None as well when a
    placeholder stands inside a name (``provider.{{ service }}.resource``).
    """
    pieces, last = [], 0
    for token in scanner.tokenize(text, template=True):
        if token.kind == scanner.BLOCK:
            if not keep_blocks:
                return None
            pieces.append(text[last : token.start])
            last = token.end
        elif token.kind == scanner.PLACEHOLDER:
            before, after = text[token.start - 1 : token.start], text[token.end : token.end + 1]
            if before in (".", "_") or before.isalnum() or after in (".", "_") or after.isalnum():
                return None
            pieces += [text[last : token.start], "NULL"]
            last = token.end
    pieces.append(text[last:])
    return "".join(pieces)


def check_statements(query: Query, registry: t.Any) -> None:
    """StackError for a statement of ``query`` that cannot parse, or names a resource the registry lacks, whatever its values.

    Found before anything is sent. (Columns are checked when the statement is
    planned, with its values, as every statement is.)
    """
    from sqlglot import exp

    from cfql.errors import Error, SQLSyntaxError
    from cfql.plan.resolver import find_resource
    from cfql.sql.dialect import iter_statements, parse_statement, table_parts

    skeleton = _skeleton(query.text, keep_blocks=False)
    if skeleton is None:
        return
    try:
        for piece in iter_statements(skeleton):
            tree = parse_statement(piece.sql, line_offset=piece.line - 1)
            for table in tree.find_all(exp.Table):
                try:
                    find_resource(registry, table_parts(table))
                except Error as error:
                    raise StackError(f"{query.source}:{piece.line}: /*+ {query.anchor} */: {error}") from None
    except SQLSyntaxError as error:
        line = error.line if error.line is not None else query.line
        raise StackError(f"{query.source}:{line}: /*+ {query.anchor} */: {error}") from None


def select_names(text: str) -> set[str] | None:
    """The columns a query template's SELECT returns, read without rendering it; None if that cannot be told."""
    from sqlglot import exp

    from cfql.sql.dialect import parse_statement

    skeleton = _skeleton(text, keep_blocks=True)
    if skeleton is None:
        return None
    try:
        tree = parse_statement(skeleton.strip().rstrip(";"))
    except Exception:  # noqa: BLE001  (a template whose shape only rendering shows)
        return None
    if not isinstance(tree, exp.Select) or any(isinstance(item, exp.Star) for item in tree.expressions):
        return None
    return {item.alias_or_name for item in tree.expressions}


def returns_rows(query: Query) -> bool:
    """Whether a change query has a RETURNING clause (a word of the SQL, not of a string or comment)."""
    return any(
        token.kind == scanner.WORD and query.text[token.start : token.end].lower() == "returning"
        for token in scanner.tokenize(query.text, template=True)
    )

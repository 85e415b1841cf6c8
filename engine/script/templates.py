"""Rendering ``.iql`` templates: strict, type-keeping and injection-safe.

Scripts use Jinja2 placeholders as stackql-deploy does (``'{{ title }}'``) and
StackQL's ``{{ .title }}`` form. Before Jinja sees the text, the scanner
(``cfql.sql.scanner``, the same one that splits and checks the statements)
finds where each placeholder stands, and the placeholder is rewritten to pass
through the filter that place calls for:

* inside a ``'...'`` literal the value is written as text with quotes doubled,
  and dicts/lists/numbers/booleans as JSON, so ``'{{ ai_config }}'`` becomes a
  JSON string literal whose numbers are still numbers; inside ``E'...'`` the
  backslashes are doubled too, inside a ``"quoted name"`` the double quotes, and
  inside ``$tag$...$tag$`` a value holding the closing tag is refused;
* outside quotes, only numbers, booleans and NULL are written as they are, and
  dicts/lists become a quoted JSON literal; any other text is refused, since it
  would be spliced into the statement as SQL;
* inside a comment a placeholder is refused: what it would do there is unclear;
* a None inside a literal makes the whole literal NULL (``'{{ name }}'`` with
  ``name: null`` is SQL NULL, never the text ``'null'``), as SQL's own
  ``'a' || NULL`` is NULL; a quoted name cannot be NULL and refuses it.

Escaping alone trusts that the template's text says where each placeholder
ends up, which Jinja's own blocks can defeat (``{% if x %}'{% endif %}{{ v }}``).
So every value also leaves private-use marks around itself, and the closing
delimiter of each literal holding a placeholder leaves one too; the rendered
text is scanned again, and each value must have made exactly one literal (bare)
or stayed inside its literal, closed by that literal's own delimiter. Only
then are the marks removed. A loop renders a placeholder several times: every
time is checked.

Jinja can also write text by other roads than ``{{ }}``; each is closed or
checked: every ``{{ }}`` output must come from the filter (Jinja's
``finalize``), ``{% filter %}`` blocks (which would rewrite placed values) are
refused, a macro's or block's output is template text whose values carry
their marks already, and included files are rewritten the same way, their
placeholders joining the script's.

Jinja runs in ``cfql.script.sandbox`` (no Python internals, files only from
``template_dir``, no credentials in ``env``, bounded time and size). An
undefined variable is an error naming it and its line, never an empty string,
and every failure is one line naming the file and line it happened on.
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import os
import re
import traceback
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from cfql.errors import TemplateError
from cfql.sql import scanner

if t.TYPE_CHECKING:
    from cfql.script.sandbox import Limits

_MAIN = "<iql>"  # the file name Jinja gives the script's own template, to find its lines in tracebacks
_BARE_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null", re.IGNORECASE)
_STACKQL_DOT = re.compile(r"^(\s*)\.(?=[A-Za-z_])")

# Marks in Jinja's output: VALUE index SEP ... END around a value (VALUE index NULL END for a
# None inside a literal, which makes the whole literal NULL), CLOSER index END before the closing
# delimiter of literal ``index``. No template or value may hold them.
_VALUE, _SEP, _END, _CLOSER, _NULL = "\ue000", "\ue001", "\ue002", "\ue003", "\ue004"
_RESERVED = re.compile("[\ue000-\ue004]")
_MARK = re.compile("\ue000(\\d+)([\ue001\ue004])|\ue003(\\d+)\ue002|\ue002")
_RESERVED_RANGE = "U+E000 to U+E004"

# Where a placeholder stands, as far as escaping is concerned.
BARE, STRING, ESCAPE_STRING, DOLLAR_STRING, QUOTED_NAME = "bare", "string", "escape string", "dollar string", "quoted name"
_IN = {
    STRING: "a '...' string",
    ESCAPE_STRING: "an E'...' string",
    DOLLAR_STRING: "a dollar-quoted string",
    QUOTED_NAME: 'a "quoted name"',
}
# Jinja statements that read other files: only from a folder the user names.
_FILE_TAGS = "include/import/extends"


@dataclass(frozen=True)
class Placeholder:
    """One ``{{ expr }}`` of a template: what it says, where, and the literal it stands in (if any)."""

    expression: str
    line: int
    context: str  # BARE, STRING, ESCAPE_STRING, DOLLAR_STRING or QUOTED_NAME
    literal: int | None = None  # index of the enclosing literal among Rewritten.literals
    delimiter: str = ""  # the enclosing literal's opening delimiter ("'", "E'", "$tag$", '"')
    source: str = "<input>"  # the file it is written in (the script, or a template it includes)

    def describe(self) -> str:
        return f"{{{{ {self.expression} }}}}"

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class Rewritten:
    """Templates ready for Jinja: each placeholder routed through ``_cfql(index)``.

    ``source`` is the script's own text; the placeholders and literals of the
    templates it includes are added to the same lists as Jinja loads them, so
    every index in the output means one thing.
    """

    source: str = ""
    placeholders: list[Placeholder] = field(default_factory=list)
    literals: list[scanner.Token] = field(default_factory=list)  # the literals holding placeholders, as written
    files: dict[str, str] = field(default_factory=dict)  # Jinja file name -> the name errors give


def render(
    text: str,
    variables: t.Mapping[str, t.Any],
    source: str = "<input>",
    template_dir: Path | str | None = None,
    hidden: t.Collection[str] = frozenset(),
    limits: Limits | None = None,
    filters: t.Mapping[str, t.Callable[..., t.Any]] | None = None,
) -> str:
    """Render ``text`` with ``variables`` (plus ``env``) in the sandbox; raise TemplateError with ``source:line``.

    ``template_dir`` is the only folder ``include``/``import``/``extends`` may
    read; ``hidden`` names environment variables ``env`` must not show (the
    providers' credentials; names that look secret are hidden anyway);
    ``filters`` adds filters (``cfql deploy`` adds stackql-deploy's).
    """
    import jinja2
    from cfql.script import sandbox

    limits = limits or sandbox.Limits()
    rewritten = rewrite(text, source)
    rewritten.files[_MAIN] = source

    def prepare_included(included: str, name: str) -> str:
        """An included, imported or extended file: rewritten like the script, its placeholders joining the script's."""
        prepared = _rewrite_into(included, name, rewritten)
        _check_tree(environment.parse(prepared, filename=name), name, allow_files=True)
        return prepared

    loader = sandbox.FolderLoader(Path(template_dir), prepare_included) if template_dir is not None else None
    environment = sandbox.Sandbox(
        limits, loader, undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )
    environment.add_filters(filters or {})
    environment.filters["_cfql"] = lambda value, index: _mark(value, index, rewritten.placeholders[index], limits)
    context = {"env": sandbox.Environ(os.environ, hidden), **variables}
    try:
        with sandbox.Deadline(limits.seconds):
            tree = environment.parse(rewritten.source, filename=_MAIN)
            _check_tree(tree, source, allow_files=loader is not None)
            template = environment.from_string(tree)
            template.filename = _MAIN
            output = _generate(template, context, limits, source)
    except sandbox.TimedOut:
        raise TemplateError(f"{source}: the template ran longer than {limits.seconds:g} seconds") from None
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as error:
        where = f"{rewritten.files.get(error.filename or _MAIN, error.filename)}:{error.lineno}"
        raise TemplateError(f"{where}: template syntax error: {_one_line(error.message or str(error))}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{_where(error, rewritten)}: {undefined_message(error)}") from None
    except _ValueRefused as error:
        raise TemplateError(f"{error.where}: {error}") from None
    except sandbox.Refused as error:
        raise TemplateError(f"{_where(error, rewritten)}: {error}") from None
    except jinja2.TemplateNotFound as error:
        raise TemplateError(f"{_where(error, rewritten)}: template error: no file {error.name!r} in the template folder {template_dir}") from None
    except Exception as error:  # noqa: BLE001  (an expression of the template failed: 1/0, a bad filter argument ...)
        raise TemplateError(f"{_where(error, rewritten)}: template error: {describe_error(error)}") from None
    return verify(output, rewritten, source)


def _check_tree(tree: t.Any, source: str, allow_files: bool) -> None:
    """Refuse what would change text after the values were placed, and files without a folder."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.FilterBlock,)):
        raise TemplateError(
            f"{source}:{node.lineno}: {{% filter %}} blocks are not allowed: they would rewrite the SQL "
            "after its values were placed (apply the filter to the value: {{ v | upper }})"
        )
    if not allow_files:
        for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            raise TemplateError(f"{source}:{node.lineno}: {_FILE_TAGS} need a template folder (--template-dir)")


def _generate(template: t.Any, context: t.Mapping[str, t.Any], limits: Limits, source: str) -> str:
    """The rendered text, stopped as soon as it grows past ``limits.output`` characters."""
    from cfql.script.sandbox import bounded_join

    text = bounded_join(template.generate(context), limits.output)
    if text is None:
        raise TemplateError(f"{source}: the rendered script would be larger than {limits.output:,} characters")
    return text


def rewrite(text: str, source: str = "<input>") -> Rewritten:
    """Route each ``{{ expr }}`` through the filter its SQL context calls for, and mark the literals holding one."""
    rewritten = Rewritten()
    rewritten.source = _rewrite_into(text, source, rewritten)
    return rewritten


def _rewrite_into(text: str, source: str, rewritten: Rewritten) -> str:
    """``text`` rewritten for Jinja, its placeholders and literals added to ``rewritten``'s (errors name ``source``)."""
    reserved = _RESERVED.search(text)
    if reserved:
        line = text.count("\n", 0, reserved.start()) + 1
        raise TemplateError(f"{source}:{line}: the template holds a reserved character ({_RESERVED_RANGE})")
    placeholders, literals = rewritten.placeholders, rewritten.literals
    rewritten.files.setdefault(source, source)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in ``text``, in order
    counted = [0, 1]  # lines are counted forward as the tokens come, never from the top again

    def line_at(offset: int) -> int:
        counted[1] += text.count("\n", counted[0], offset)
        counted[0] = offset
        return counted[1]

    def route(token: scanner.Token, context: str, literal: scanner.Token | None = None) -> None:
        """``{{ expr }}`` becomes ``{{ (expr) | _cfql(index) }}``, keeping Jinja's ``-`` whitespace control."""
        if not token.closed:
            return  # Jinja reports the unterminated placeholder, with its line
        inner = text[token.start + 2 : token.end - 2]
        left = "-" if inner.startswith("-") else ""
        right = "-" if inner.endswith("-") else ""
        expression = _STACKQL_DOT.sub(r"\1", inner[len(left) : len(inner) - len(right)]).strip()
        line = line_at(token.start)
        if literal is None:
            placeholders.append(Placeholder(expression, line, context, source=source))
        else:
            placeholders.append(Placeholder(expression, line, context, len(literals) - 1, literal.delimiter, source))
        edits.append((token.start, token.end, f"{{{{{left} ({expression}) | _cfql({len(placeholders) - 1}) {right}}}}}"))

    for token in scanner.iter_tokens(text, template=True):
        if token.kind == scanner.PLACEHOLDER:
            route(token, BARE)
            continue
        held = [inner for inner in token.inner if inner.kind == scanner.PLACEHOLDER]
        if not held:
            continue
        if token.kind == scanner.COMMENT:
            first = held[0]
            line = line_at(first.start)
            inner = text[first.start + 2 : first.end - 2 if first.closed else first.end]
            expression = _STACKQL_DOT.sub(r"\1", inner.strip("-")).strip()
            raise TemplateError(f"{source}:{line}: {{{{ {expression} }}}}: placeholders are not allowed inside comments")
        literals.append(token)
        for inner in held:
            route(inner, _context(token), token)
        if token.closed:
            at = token.end - len(token.closer)
            edits.append((at, at, f"{_CLOSER}{len(literals) - 1}{_END}"))
    out: list[str] = []
    position = 0
    for start, end, replacement in edits:
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    return "".join(out)


def _context(literal: scanner.Token) -> str:
    if literal.kind == scanner.QUOTED:
        return QUOTED_NAME
    if literal.backslash_escapes:
        return ESCAPE_STRING
    return DOLLAR_STRING if literal.dollar_quoted else STRING


class _ValueRefused(Exception):
    """A value that cannot stand where its placeholder does; ``where`` is that placeholder's ``file:line``."""

    def __init__(self, message: str, placeholder: Placeholder):
        super().__init__(message)
        self.where = placeholder.where


class _Placed(str):
    """The ``_cfql`` filter's result: a value written for its place, between marks."""

    __slots__ = ()


def _finalize(value: t.Any) -> t.Any:
    """Jinja's last word on every ``{{ }}``: it must be a value ``_cfql`` placed.

    Every placeholder is rewritten to end in ``| _cfql(index)``, so anything
    else reaching the output means Jinja read a placeholder where the scanner
    saw none; it is refused rather than written into the SQL unchecked.
    """
    from cfql.script.sandbox import Refused

    if isinstance(value, _Placed):
        return value
    raise Refused("a placeholder cfql could not place (write it as {{ name }}, alone between its braces)")


def _mark(value: t.Any, index: int, placeholder: Placeholder, limits: Limits) -> str:
    """The filter: ``value`` written for where the placeholder stands, between marks naming it."""
    from cfql.script.sandbox import Rendered, weight

    value = _defined(value, placeholder)
    if type(value) is Rendered:
        return _Placed(value)  # a macro's output: template text and values placed already
    if weight(value, limits.output) > limits.output:
        raise _ValueRefused(f"{placeholder.describe()}: its value is larger than {limits.output:,} characters", placeholder)
    if value is None and placeholder.context != BARE:
        if placeholder.context == QUOTED_NAME:
            raise _ValueRefused(f"{placeholder.describe()} stands inside {_IN[QUOTED_NAME]}, and a name cannot be NULL", placeholder)
        return _Placed(f"{_VALUE}{index}{_NULL}{_END}")  # the literal around it becomes NULL
    if placeholder.context == BARE:
        text = _bare(value, placeholder)
    else:
        text = _in_literal(value, placeholder)
    if _RESERVED.search(text):
        raise _ValueRefused(
            f"{placeholder.describe()}: its value holds a reserved character ({_RESERVED_RANGE}), "
            "or the output of another placeholder",
            placeholder,
        )
    return _Placed(f"{_VALUE}{index}{_SEP}{text}{_END}")


def _defined(value: t.Any, placeholder: Placeholder) -> t.Any:
    """Filters receive StrictUndefined unevaluated; fail here, naming the whole expression (or the refused attribute)."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        if value._undefined_exception is jinja2.exceptions.SecurityError:
            raise _ValueRefused(f"template error: {_one_line(value._undefined_hint or '')}", placeholder)
        raise _ValueRefused(f"undefined template variable: {placeholder.expression}", placeholder)
    return value


def _json(value: t.Any, placeholder: Placeholder) -> str:
    """``value`` as JSON text; dates as ISO text; what JSON cannot write is refused by its type."""

    def fallback(item: t.Any) -> t.Any:
        import jinja2

        if isinstance(item, (datetime.date, datetime.time)):
            return item.isoformat()
        if isinstance(item, jinja2.Undefined):
            item._fail_with_undefined_error()
        if isinstance(item, (range, t.Sequence)) and not isinstance(item, (str, bytes, bytearray)):
            return list(item)
        raise _ValueRefused(f"{placeholder.describe()}: a value of type {type(item).__name__!r} cannot be placed in SQL", placeholder)

    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=fallback)
    except (ValueError, TypeError) as error:  # NaN or infinity, an integer too long to write, a key JSON cannot write
        raise _ValueRefused(f"{placeholder.describe()}: its value cannot be written as JSON ({_one_line(str(error))})", placeholder) from None


def _in_literal(value: t.Any, placeholder: Placeholder) -> str:
    """Text that stays inside the literal: its closing delimiter (and, in E'...', backslashes) escaped."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (datetime.date, datetime.time)):
        text = value.isoformat()
    else:
        text = _json(value, placeholder)
    context = placeholder.context
    if context == QUOTED_NAME:
        return text.replace('"', '""')
    if context == DOLLAR_STRING:
        if placeholder.delimiter in text:
            raise _ValueRefused(
                f"{placeholder.describe()} stands inside a {placeholder.delimiter}...{placeholder.delimiter} string, "
                f"so its value must not hold {placeholder.delimiter}",
                placeholder,
            )
        return text
    if context == ESCAPE_STRING:
        text = text.replace("\\", "\\\\")
    return text.replace("'", "''")


def _bare(value: t.Any, placeholder: Placeholder) -> str:
    expression = placeholder.expression
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise _ValueRefused(f"{{{{ {expression} }}}} stands outside quotes, and {value} is no SQL number", placeholder)
    if isinstance(value, (int, float)):
        return _json(value, placeholder)
    if isinstance(value, (dict, list, tuple)):
        return "'" + _json(value, placeholder).replace("'", "''") + "'"
    if not isinstance(value, str):
        raise _ValueRefused(
            f"{{{{ {expression} }}}} stands outside quotes, and a value of type {type(value).__name__!r} "
            f"is no SQL literal — write '{{{{ {expression} }}}}' to pass it as a string",
            placeholder,
        )
    text = value.strip()
    if _BARE_LITERAL.fullmatch(text):
        return text
    raise _ValueRefused(
        f"{{{{ {expression} }}}} stands outside quotes, so its value must be a number, true, false or NULL; "
        f"got {text[:40]!r} — write '{{{{ {expression} }}}}' to pass it as a string",
        placeholder,
    )


def verify(output: str, rewritten: Rewritten, source: str = "<input>") -> str:
    """Check each rendered value against the tokens around it, then return the output without its marks.

    A bare value must be exactly one literal: a number (perhaps negative), true,
    false, NULL or a closed ``'...'`` string. A value inside a literal must lie
    within the body of a literal of the same kind, closed (or not) as in the
    template, and if closed then by a delimiter the template wrote for it.
    A literal holding a None value is then written as NULL, whole.
    """
    text, values, closers = _strip_marks(output, source)
    if not values:
        return text
    tokens = scanner.tokenize(text)
    starts = [token.start for token in tokens]
    nulls: dict[int, scanner.Token] = {}  # literals to write as NULL, by start
    for index, start, end, is_null in values:
        placeholder = rewritten.placeholders[index]
        if placeholder.context == BARE:
            problem = _bare_problem(text, tokens, starts, start, end)
        else:
            problem = _literal_problem(tokens, starts, start, end, placeholder, rewritten, closers)
            if is_null and not problem:
                literal = tokens[bisect.bisect_right(starts, start) - 1]
                nulls[literal.start] = literal
        if problem:
            raise TemplateError(f"{placeholder.where}: {placeholder.describe()} {problem}")
    return _nulled(text, sorted(nulls.values())) if nulls else text


def _nulled(text: str, literals: list[scanner.Token]) -> str:
    """``text`` with each of ``literals`` replaced by NULL, spaced off from a neighbour it would join."""
    out: list[str] = []
    position = 0
    for literal in literals:
        before = text[literal.start - 1 : literal.start]
        after = text[literal.end : literal.end + 1]
        left = " " if before and not (before.isspace() or before in "(,=") else ""
        right = " " if after and not (after.isspace() or after in "),;") else ""
        out += [text[position : literal.start], f"{left}NULL{right}"]
        position = literal.end
    out.append(text[position:])
    return "".join(out)


def _strip_marks(output: str, source: str) -> tuple[str, list[tuple[int, int, int, bool]], dict[int, set[int]]]:
    """The output without marks; each value as ``(placeholder, start, end, is_null)``; each literal's closer positions."""
    pieces: list[str] = []
    length = 0
    position = 0
    open_values: list[tuple[int, int, bool]] = []
    values: list[tuple[int, int, int, bool]] = []
    closers: dict[int, set[int]] = {}
    for mark in _MARK.finditer(output):
        piece = output[position : mark.start()]
        pieces.append(piece)
        length += len(piece)
        position = mark.end()
        value, separator, closer = mark.group(1), mark.group(2), mark.group(3)
        if value is not None:
            open_values.append((int(value), length, separator == _NULL))
        elif closer is not None:
            closers.setdefault(int(closer), set()).add(length)
        elif open_values:
            index, start, is_null = open_values.pop()
            values.append((index, start, length, is_null))
        else:
            raise TemplateError(f"{source}: the template's output lost the marks around a placeholder's value")
    if open_values:
        raise TemplateError(f"{source}: the template's output lost the marks around a placeholder's value")
    pieces.append(output[position:])
    return "".join(pieces), values, closers


def _bare_problem(text: str, tokens: list[scanner.Token], starts: list[int], start: int, end: int) -> str | None:
    """Why the value at ``start:end`` is not exactly one literal, or None if it is."""
    rendered = text[start:end]
    refusal = f"stands outside quotes, but its value {rendered[:40]!r} did not stay one literal there"
    first = bisect.bisect_left(starts, start)
    if first > 0 and tokens[first - 1].end > start:
        return refusal  # the value continues a token that starts before it
    within = tokens[first : bisect.bisect_left(starts, end, first)]  # the tokens starting inside the value
    if not within or within[0].start != start or within[-1].end != end:
        return refusal
    kinds = [token.kind for token in within]
    if kinds == [scanner.NUMBER]:
        return None
    if kinds == [scanner.OP, scanner.NUMBER] and rendered.startswith("-") and within[0].end == within[1].start:
        return None
    if kinds == [scanner.WORD] and rendered.lower() in ("true", "false", "null"):
        return None
    if kinds == [scanner.STRING] and within[0].closed and within[0].delimiter == "'":
        return None
    return refusal


def _literal_problem(
    tokens: list[scanner.Token],
    starts: list[int],
    start: int,
    end: int,
    placeholder: Placeholder,
    rewritten: Rewritten,
    closers: dict[int, set[int]],
) -> str | None:
    """Why the value at ``start:end`` left the literal the template put it in, or None if it did not."""
    assert placeholder.literal is not None
    written = rewritten.literals[placeholder.literal]
    where = f"stands inside {_IN[placeholder.context]}, but its value"
    at = bisect.bisect_right(starts, start) - 1
    token = tokens[at] if at >= 0 else None
    if (
        token is None
        or (token.closed and token.end <= start)
        or token.kind != written.kind
        or token.delimiter != written.delimiter
    ):
        return f"{where} is not inside one there (a template block may have moved it)"
    body_start, body_end = token.body_span()
    if not body_start <= start <= end <= body_end:
        return f"{where} would end it"
    if token.closed != written.closed:
        return f"{where} would {'leave it unterminated' if written.closed else 'close it'}"
    if token.closed and token.end - len(token.closer) not in closers.get(placeholder.literal, ()):
        return f"{where} would move where it ends"
    return None


def _where(error: BaseException, rewritten: Rewritten) -> str:
    """``file:line`` of the template line ``error`` was raised on (the innermost, in an included file)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename in rewritten.files and frame.lineno:
            return f"{rewritten.files[frame.filename]}:{frame.lineno}"
    return f"{rewritten.files[_MAIN]}:?"


def undefined_message(error: Exception) -> str:
    """Jinja's undefined-name error as cfql says it: ``undefined template variable: NAME``."""
    message = str(error)
    match = re.match(r"'(\w+)' is undefined", message)
    if match:
        return f"undefined template variable: {match.group(1)}"
    match = re.match(r"'.*' has no attribute '(\w+)'", message)
    if match:
        return f"undefined template variable: {match.group(1)} (attribute or key)"
    if "unsafe" in message:
        return f"template error: {_one_line(message)}"
    return f"undefined template variable: {_one_line(message)}"


_PLAIN_WORDS = {
    ZeroDivisionError: "division by zero",
    RecursionError: "too deeply nested (a macro that calls itself without end?)",
    MemoryError: "out of memory",
}


def describe_error(error: BaseException) -> str:
    """One line saying what went wrong in a template expression, without Python's class names where they say nothing."""
    for kind, words in _PLAIN_WORDS.items():
        if isinstance(error, kind):
            return words
    message = _one_line(str(error))
    return message or type(error).__name__


def _one_line(message: str) -> str:
    return " ".join(message.split()).rstrip(".")

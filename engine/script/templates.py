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
* inside a comment a placeholder is refused: what it would do there is unclear.

Escaping alone trusts that the template's text says where each placeholder
ends up, which Jinja's own blocks can defeat (``{% if x %}'{% endif %}{{ v }}``).
So every value also leaves private-use marks around itself, and the closing
delimiter of each literal holding a placeholder leaves one too; the rendered
text is scanned again, and each value must have made exactly one literal (bare)
or stayed inside its literal, closed by that literal's own delimiter. Only
then are the marks removed. A loop renders a placeholder several times: every
time is checked.

An undefined variable is an error naming it and its line, never an empty string.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import traceback
import typing as t
from dataclasses import dataclass

from cfql.errors import TemplateError
from cfql.sql import scanner

_TEMPLATE_NAME = "<iql>"
_BARE_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null", re.IGNORECASE)
_STACKQL_DOT = re.compile(r"^(\s*)\.(?=[A-Za-z_])")

# Marks in Jinja's output: VALUE index SEP ... END around a value, CLOSER index END
# before the closing delimiter of literal ``index``. No template or value may hold them.
_VALUE, _SEP, _END, _CLOSER = "\ue000", "\ue001", "\ue002", "\ue003"
_RESERVED = re.compile("[\ue000-\ue003]")
_MARK = re.compile("\ue000(\\d+)\ue001|\ue003(\\d+)\ue002|\ue002")

# Where a placeholder stands, as far as escaping is concerned.
BARE, STRING, ESCAPE_STRING, DOLLAR_STRING, QUOTED_NAME = "bare", "string", "escape string", "dollar string", "quoted name"
_IN = {
    STRING: "a '...' string",
    ESCAPE_STRING: "an E'...' string",
    DOLLAR_STRING: "a dollar-quoted string",
    QUOTED_NAME: 'a "quoted name"',
}


@dataclass(frozen=True)
class Placeholder:
    """One ``{{ expr }}`` of a template: what it says, where, and the literal it stands in (if any)."""

    expression: str
    line: int
    context: str  # BARE, STRING, ESCAPE_STRING, DOLLAR_STRING or QUOTED_NAME
    literal: int | None = None  # index of the enclosing literal among Rewritten.literals
    delimiter: str = ""  # the enclosing literal's opening delimiter ("'", "E'", "$tag$", '"')

    def describe(self) -> str:
        return f"{{{{ {self.expression} }}}}"


@dataclass(frozen=True)
class Rewritten:
    """A template ready for Jinja: each placeholder routed through ``_cfql(index)``."""

    source: str
    placeholders: tuple[Placeholder, ...]
    literals: tuple[scanner.Token, ...]  # the literals holding placeholders, in the original text


def render(text: str, variables: t.Mapping[str, t.Any], source: str = "<input>") -> str:
    """Render ``text`` with ``variables`` (plus ``env``); raise TemplateError with ``source:line``."""
    import jinja2

    rewritten = rewrite(text, source)
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    environment.filters["_cfql"] = lambda value, index: _mark(value, index, rewritten.placeholders[index])
    try:
        template = environment.from_string(rewritten.source)
        template.name = _TEMPLATE_NAME
        template.filename = _TEMPLATE_NAME
        output = template.render({"env": dict(os.environ), **variables})
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{source}:{error.lineno}: template syntax error: {error.message}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{source}:{_template_line(error)}: undefined template variable: {_undefined_name(error)}") from None
    except _ValueRefused as error:
        raise TemplateError(f"{source}:{error.line}: {error}") from None
    except Exception as error:  # an expression of the template failed (1/0, a bad filter argument ...)
        raise TemplateError(f"{source}:{_template_line(error)}: template error: {type(error).__name__}: {error}") from None
    return verify(output, rewritten, source)


def rewrite(text: str, source: str = "<input>") -> Rewritten:
    """Route each ``{{ expr }}`` through the filter its SQL context calls for, and mark the literals holding one."""
    reserved = _RESERVED.search(text)
    if reserved:
        line = text.count("\n", 0, reserved.start()) + 1
        raise TemplateError(f"{source}:{line}: the template holds a reserved character (U+E000 to U+E003)")
    placeholders: list[Placeholder] = []
    literals: list[scanner.Token] = []
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
            placeholders.append(Placeholder(expression, line, context))
        else:
            placeholders.append(Placeholder(expression, line, context, len(literals) - 1, literal.delimiter))
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
    return Rewritten("".join(out), tuple(placeholders), tuple(literals))


def _context(literal: scanner.Token) -> str:
    if literal.kind == scanner.QUOTED:
        return QUOTED_NAME
    if literal.backslash_escapes:
        return ESCAPE_STRING
    return DOLLAR_STRING if literal.dollar_quoted else STRING


class _ValueRefused(Exception):
    def __init__(self, message: str, line: int | str):
        super().__init__(message)
        self.line = line


def _mark(value: t.Any, index: int, placeholder: Placeholder) -> str:
    """The filter: ``value`` written for where the placeholder stands, between marks naming it."""
    value = _defined(value, placeholder)
    if placeholder.context == BARE:
        text = _bare(value, placeholder)
    else:
        text = _in_literal(value, placeholder)
    if _RESERVED.search(text):
        raise _ValueRefused(
            f"{placeholder.describe()}: its value holds a reserved character (U+E000 to U+E003), "
            "or the output of another placeholder",
            placeholder.line,
        )
    return f"{_VALUE}{index}{_SEP}{text}{_END}"


def _defined(value: t.Any, placeholder: Placeholder) -> t.Any:
    """Filters receive StrictUndefined unevaluated; fail here, naming the whole expression."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        raise _ValueRefused(f"undefined template variable: {placeholder.expression}", placeholder.line)
    return value


def _in_literal(value: t.Any, placeholder: Placeholder) -> str:
    """Text that stays inside the literal: its closing delimiter (and, in E'...', backslashes) escaped."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    context = placeholder.context
    if context == QUOTED_NAME:
        return text.replace('"', '""')
    if context == DOLLAR_STRING:
        if placeholder.delimiter in text:
            raise _ValueRefused(
                f"{placeholder.describe()} stands inside a {placeholder.delimiter}...{placeholder.delimiter} string, "
                f"so its value must not hold {placeholder.delimiter}",
                placeholder.line,
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
        raise _ValueRefused(f"{{{{ {expression} }}}} stands outside quotes, and {value} is no SQL number", placeholder.line)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'"
    text = str(value).strip()
    if _BARE_LITERAL.fullmatch(text):
        return text
    raise _ValueRefused(
        f"{{{{ {expression} }}}} stands outside quotes, so its value must be a number, true, false or NULL; "
        f"got {text[:40]!r} — write '{{{{ {expression} }}}}' to pass it as a string",
        placeholder.line,
    )


def verify(output: str, rewritten: Rewritten, source: str = "<input>") -> str:
    """Check each rendered value against the tokens around it, then return the output without its marks.

    A bare value must be exactly one literal: a number (perhaps negative), true,
    false, NULL or a closed ``'...'`` string. A value inside a literal must lie
    within the body of a literal of the same kind, closed (or not) as in the
    template, and if closed then by a delimiter the template wrote for it.
    """
    text, values, closers = _strip_marks(output, source)
    if not values:
        return text
    tokens = scanner.tokenize(text)
    starts = [token.start for token in tokens]
    for index, start, end in values:
        placeholder = rewritten.placeholders[index]
        if placeholder.context == BARE:
            problem = _bare_problem(text, tokens, starts, start, end)
        else:
            problem = _literal_problem(tokens, starts, start, end, placeholder, rewritten, closers)
        if problem:
            raise TemplateError(f"{source}:{placeholder.line}: {placeholder.describe()} {problem}")
    return text


def _strip_marks(output: str, source: str) -> tuple[str, list[tuple[int, int, int]], dict[int, set[int]]]:
    """The output without marks; each value as ``(placeholder, start, end)``; each literal's closer positions."""
    pieces: list[str] = []
    length = 0
    position = 0
    open_values: list[tuple[int, int]] = []
    values: list[tuple[int, int, int]] = []
    closers: dict[int, set[int]] = {}
    for mark in _MARK.finditer(output):
        piece = output[position : mark.start()]
        pieces.append(piece)
        length += len(piece)
        position = mark.end()
        value, closer = mark.group(1), mark.group(2)
        if value is not None:
            open_values.append((int(value), length))
        elif closer is not None:
            closers.setdefault(int(closer), set()).add(length)
        elif open_values:
            index, start = open_values.pop()
            values.append((index, start, length))
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
    within = []
    for token in tokens[first:]:
        if token.start >= end:
            break
        within.append(token)
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


def _template_line(error: BaseException) -> int | str:
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == _TEMPLATE_NAME and frame.lineno:
            return frame.lineno
    return "?"


def _undefined_name(error: Exception) -> str:
    message = str(error)
    match = re.match(r"'(\w+)' is undefined", message)
    if match:
        return match.group(1)
    match = re.match(r"'.*' has no attribute '(\w+)'", message)
    if match:
        return f"{match.group(1)} (attribute or key)"
    return message

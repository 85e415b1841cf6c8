"""Rendering ``.iql`` templates: strict, type-keeping and injection-safe.

Scripts use Jinja2 placeholders as stackql-deploy does (``'{{ title }}'``) and
StackQL's ``{{ .title }}`` form. Before Jinja sees the text, every placeholder
is rewritten to pass through a filter chosen by where it stands in the SQL:

* inside a ``'...'`` literal, the value is written as text with quotes doubled,
  and dicts/lists/numbers/booleans as JSON — so ``'{{ ai_config }}'`` becomes a
  JSON string literal whose numbers are still numbers;
* outside quotes, only numbers, booleans and NULL are written as they are, and
  dicts/lists become a quoted JSON literal; any other text is refused, since it
  would be spliced into the statement as SQL.

An undefined variable is an error naming it and its line, never an empty string.
"""

from __future__ import annotations

import json
import os
import re
import traceback
import typing as t
from pathlib import Path

from cfql.errors import TemplateError

_TEMPLATE_NAME = "<iql>"
_BARE_LITERAL = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null", re.IGNORECASE)
_STACKQL_DOT = re.compile(r"^(\s*)\.(?=[A-Za-z_])")


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render(text: str, variables: t.Mapping[str, t.Any], source: str = "<input>") -> str:
    """Render ``text`` with ``variables`` (plus ``env``); raise TemplateError with ``source:line``."""
    import jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    environment.filters["_cfql_quoted"] = _quoted
    environment.filters["_cfql_bare"] = _bare
    try:
        template = environment.from_string(rewrite(text))
        template.name = _TEMPLATE_NAME
        template.filename = _TEMPLATE_NAME
        return template.render({"env": dict(os.environ), **variables})
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{source}:{error.lineno}: template syntax error: {error.message}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{source}:{_template_line(error)}: undefined template variable: {_undefined_name(error)}") from None
    except _ValueRefused as error:
        raise TemplateError(f"{source}:{_template_line(error)}: {error}") from None


def rewrite(text: str) -> str:
    """Route each ``{{ expr }}`` through the filter its SQL context calls for."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if text.startswith("{{", i):
            end = text.find("}}", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            out.append(_placeholder(text[i + 2 : end], in_string))
            i = end + 2
            continue
        if text.startswith("{%", i) or text.startswith("{#", i):
            closer = "%}" if text[i + 1] == "%" else "#}"
            end = text.find(closer, i + 2)
            end = n if end < 0 else end + 2
            out.append(text[i:end])
            i = end
            continue
        if in_string:
            if ch == "'":
                in_string = False
        elif ch == "'":
            in_string = True
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(text[i:end])
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _placeholder(inner: str, in_string: bool) -> str:
    left = "-" if inner.startswith("-") else ""
    right = "-" if inner.endswith("-") else ""
    expression = inner[len(left) : len(inner) - len(right)]
    expression = _STACKQL_DOT.sub(r"\1", expression).strip()
    name = json.dumps(expression)
    chosen = "_cfql_quoted" if in_string else "_cfql_bare"
    return f"{{{{{left} ({expression}) | {chosen}({name}) {right}}}}}"


class _ValueRefused(Exception):
    pass


def _defined(value: t.Any, expression: str) -> t.Any:
    """Filters receive StrictUndefined unevaluated; fail here, naming the whole expression."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        raise _ValueRefused(f"undefined template variable: {expression}")
    return value


def _quoted(value: t.Any, expression: str) -> str:
    value = _defined(value, expression)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("'", "''")


def _bare(value: t.Any, expression: str) -> str:
    value = _defined(value, expression)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'"
    text = str(value).strip()
    if _BARE_LITERAL.fullmatch(text):
        return text
    raise _ValueRefused(
        f"{{{{ {expression} }}}} stands outside quotes, so its value must be a number, true, false or NULL; "
        f"got {text[:40]!r} — write '{{{{ {expression} }}}}' to pass it as a string"
    )


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


def load_variables(pairs: t.Sequence[str], data_file: str | None) -> dict[str, t.Any]:
    """Variables from ``--iqldata FILE`` (JSON or YAML), then ``--var key=value`` (which win)."""
    variables: dict[str, t.Any] = {}
    if data_file:
        path = Path(data_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise TemplateError(f"cannot read {data_file}: {error.strerror}") from None
        try:
            if path.suffix.lower() == ".json":
                loaded = json.loads(text)
            else:
                import yaml

                loaded = yaml.safe_load(text)
        except ValueError as error:
            raise TemplateError(f"{data_file}: not valid JSON: {error}") from None
        except Exception as error:  # yaml.YAMLError, without importing yaml up front
            raise TemplateError(f"{data_file}: not valid YAML: {str(error).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise TemplateError(f"{data_file}: must hold a mapping of variable names to values")
        variables.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise TemplateError(f"--var {pair!r}: expected NAME=VALUE")
        variables[name.strip()] = value
    return variables

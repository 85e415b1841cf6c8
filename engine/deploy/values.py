"""A stack's values: variables, globals and props rendered with their types kept, and the names templates use.

Rendering runs in the scripts' sandbox (``cfql.script.sandbox``: no Python
internals, no credentials in ``env``, bounded time and size) with strict
undefined. Types follow the YAML: a number stays a number, a mapping becomes
a JSON object when a query sends it; a string with a placeholder
(``"{{ x }}"``) renders as text; an unquoted whole-scalar placeholder
(``Unquoted``) renders its value and, if that is text, reads it as a YAML
scalar, so ``-e word_limit=500`` gives the number 500.

``template_names`` says which names a template reads, so that a resource's
props are evaluated only when one of its queries needs them, and undefined
names are found before anything is sent.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import time
import typing as t
from dataclasses import dataclass, field

from cfql.deploy.manifest import Prop, Unquoted
from cfql.errors import Error, StackError

if t.TYPE_CHECKING:
    from cfql.script.sandbox import Sandbox


class UndefinedName(StackError):
    """A template read a name nothing defines (a prop with ``default:`` then takes its default)."""


# -- stackql-deploy's filters -------------------------------------------------------------------


def _from_json(text: t.Any) -> t.Any:
    if not isinstance(text, str):
        return text
    from cfql.sql.values import load_json

    return load_json(text)


def _base64_encode(text: t.Any) -> str:
    return base64.b64encode(str(text).encode()).decode()


def _merge_lists(items: t.Any, other: t.Any = None) -> list[t.Any]:
    """Both lists' items, each once, in order."""
    merged: list[t.Any] = []
    for item in [*_from_json(items or []), *_from_json(other or [])]:
        if item not in merged:
            merged.append(item)
    return merged


def _merge_objects(base: t.Any, other: t.Any = None) -> dict[str, t.Any]:
    return {**_from_json(base or {}), **_from_json(other or {})}


def _generate_patch_document(properties: t.Any) -> str:
    """A JSON Patch that sets each property (AWS Cloud Control's update document)."""
    values = _from_json(properties)
    return json.dumps([{"op": "add", "path": f"/{key}", "value": values[key]} for key in sorted(values)])


FILTERS: dict[str, t.Callable[..., t.Any]] = {
    "from_json": _from_json,
    "base64_encode": _base64_encode,
    "merge_lists": _merge_lists,
    "merge_objects": _merge_objects,
    "generate_patch_document": _generate_patch_document,
}


# -- rendering values ---------------------------------------------------------------------------


class Renderer:
    """Renders manifest values in one sandbox (templates compiled once), keeping their types."""

    def __init__(self, hidden: t.Collection[str] = ()):
        import jinja2

        from cfql.script import sandbox

        self._sandbox_module = sandbox
        self.environment: Sandbox = sandbox.Sandbox(
            sandbox.Limits(), None, undefined=jinja2.StrictUndefined, autoescape=False, finalize=as_text
        )
        self.environment.add_filters(FILTERS)
        self.env = sandbox.Environ(os.environ, hidden)
        self._compiled: dict[str, t.Any] = {}

    def value(self, value: t.Any, context: t.Mapping[str, t.Any], where: str) -> t.Any:
        """``value`` with every template in it rendered; StackError naming ``where`` (``file:line``) on failure."""
        if isinstance(value, Unquoted):
            rendered = self._run(value.text[2:-2].strip(), context, where, expression=True)
            return _as_yaml_scalar(rendered) if isinstance(rendered, str) else rendered
        if isinstance(value, str):
            return self._run(value, context, where) if _templated(value) else value
        if isinstance(value, dict):
            return {key: self.value(item, context, where) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, context, where) for item in value]
        return value

    def _run(self, text: str, context: t.Mapping[str, t.Any], where: str, expression: bool = False) -> t.Any:
        import jinja2

        sandbox = self._sandbox_module
        self.environment.started, self.environment.steps = time.monotonic(), 0
        try:
            with sandbox.Deadline(self.environment.limits.seconds):
                key = ("=" if expression else "") + text
                compiled = self._compiled.get(key)
                if compiled is None:
                    if expression:
                        compiled = self.environment.compile_expression(text, undefined_to_none=False)
                    else:
                        compiled = self.environment.from_string(text)
                    self._compiled[key] = compiled
                full = {"env": self.env, **context}
                if expression:
                    result = compiled(**full)
                    if isinstance(result, jinja2.Undefined):
                        result._fail_with_undefined_error()
                    return result
                text = sandbox.bounded_join(compiled.generate(full), self.environment.limits.output)
                if text is None:  # stopped as soon as it grew too large, as a script's output is
                    raise StackError(f"{where}: the value would be larger than {self.environment.limits.output:,} characters")
                return text
        except sandbox.TimedOut:
            raise StackError(f"{where}: the template ran longer than {self.environment.limits.seconds:g} seconds") from None
        except jinja2.UndefinedError as error:
            from cfql.script.templates import undefined_message

            raise UndefinedName(f"{where}: {undefined_message(error)}") from None
        except jinja2.TemplateSyntaxError as error:
            raise StackError(f"{where}: template syntax error: {' '.join(str(error.message).split())}") from None
        except StackError:
            raise
        except Error as error:
            raise StackError(f"{where}: {error}") from None
        except Exception as error:  # noqa: BLE001  (an expression failed: 1/0, a bad filter argument, a refusal)
            from cfql.script.templates import describe_error

            raise StackError(f"{where}: template error: {describe_error(error)}") from None


def _templated(text: str) -> bool:
    return "{{" in text or "{%" in text


def as_text(value: t.Any) -> t.Any:
    """How a value reads inside text: strings as they are, None as nothing, anything else as JSON."""
    if isinstance(value, str) or hasattr(value, "__html__"):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


# YAML 1.2's core schema, which is how a scalar's type is read (PyYAML follows YAML 1.1, where
# ``yes`` is true, ``1:30`` is 90 and ``010`` is 8; none of that is wanted from a -e value).
_NULL = re.compile(r"null|Null|NULL|~|")
_BOOL = re.compile(r"(true|True|TRUE)|false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _as_yaml_scalar(text: str) -> t.Any:
    """``"500"`` -> 500, ``"true"`` -> True, ``"null"`` -> None (YAML 1.2 core schema); anything else stays text."""
    if _NULL.fullmatch(text):
        return None
    boolean = _BOOL.fullmatch(text)
    if boolean:
        return boolean.group(1) is not None
    if _INT.fullmatch(text):
        return int(text) if len(text) <= 4300 else text  # Python refuses to convert longer digit runs
    if _OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


# -- which names a template reads ------------------------------------------------------------------


@dataclass
class Names:
    """The free names a template reads (with the first line each is read on) and the ``name.attribute`` pairs."""

    lines: dict[str, int] = field(default_factory=dict)
    attributes: set[tuple[str, str]] = field(default_factory=set)

    def update(self, other: Names) -> None:
        for name, line in other.lines.items():
            self.lines.setdefault(name, line)
        self.attributes |= other.attributes


def template_names(text: str, sql: bool = False, source: str = "<input>") -> Names:
    """The names ``text`` reads; ``sql``: it is a query template (StackQL's ``{{ .name }}`` form allowed).

    A query template that its placement rules refuse (a placeholder in a
    comment) is a StackError naming ``source`` and the line. A run asks this
    of the same few templates many times (every check, every prop a query
    needs), so each is analysed once; callers get a copy they may change.
    """
    found = _template_names(text, sql, source)
    return Names(dict(found.lines), set(found.attributes))


@functools.lru_cache(maxsize=1024)
def _template_names(text: str, sql: bool, source: str) -> Names:
    import jinja2
    from jinja2 import meta, nodes

    if sql:
        from cfql.script.templates import rewrite

        try:
            text = rewrite(text, source).source
        except Error as error:
            raise StackError(str(error)) from None
    environment = _names_environment()
    try:
        tree = environment.parse(text)
        free = meta.find_undeclared_variables(tree)  # compiles it: an unknown filter or test fails here
    except jinja2.TemplateSyntaxError as error:  # its assertion errors too
        line = f"{source}:{error.lineno}" if sql else source
        raise StackError(f"{line}: template error: {' '.join(str(error.message).split())}") from None
    names = Names()
    for node in tree.find_all(nodes.Name):
        if node.name in free and node.ctx == "load":
            names.lines.setdefault(node.name, node.lineno)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name in free:
            attribute = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(attribute, str):
                names.attributes.add((node.node.name, attribute))
    return names


_ENVIRONMENT: t.Any = None


def _names_environment() -> t.Any:
    """A Jinja environment that knows the sandbox's filters and tests, only to parse and compile with."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        import jinja2

        _ENVIRONMENT = jinja2.Environment()
        _ENVIRONMENT.filters.update(dict.fromkeys([*FILTERS, "_cfql"], lambda value, *_: value))
    return _ENVIRONMENT


def value_names(value: t.Any, where: str = "<value>") -> Names:
    """The names the templates inside a manifest value read; a template that cannot compile is a StackError at ``where``."""
    names = Names()
    if isinstance(value, Unquoted):
        names.update(template_names(value.text, source=where))
    elif isinstance(value, str) and _templated(value):
        names.update(template_names(value, source=where))
    elif isinstance(value, dict):
        for item in value.values():
            names.update(value_names(item, where))
    elif isinstance(value, list):
        for item in value:
            names.update(value_names(item, where))
    return names


def prop_value(prop: Prop, stack_env: str, where: str) -> t.Any:
    """The value written for ``prop`` in this stack env: ``value``, else ``values.<env>.value`` (None with only ``merge``)."""
    if prop.has_value:
        return prop.value
    if stack_env in prop.values:
        return prop.values[stack_env]
    if prop.values:
        raise StackError(f"{where}: prop {prop.name} has no value for stack env {stack_env!r} (values has {', '.join(prop.values)})")
    return None


def merge(base: t.Any, addition: t.Any, prop: str, name: str, where: str) -> t.Any:
    """``merge:`` as stackql-deploy does it: lists joined without repeats, mappings joined (the addition wins)."""
    if isinstance(addition, str):
        try:
            addition = _from_json(addition)
        except ValueError:
            raise StackError(f"{where}: prop {prop}: merge item {name} is not a list or mapping") from None
    if base is None:
        return addition
    if isinstance(base, list) and isinstance(addition, list):
        return _merge_lists(base, addition)
    if isinstance(base, dict) and isinstance(addition, dict):
        return _merge_objects(base, addition)
    raise StackError(f"{where}: prop {prop}: cannot merge {type(addition).__name__} {name} into a {type(base).__name__}")


def text_condition(template: str, render: t.Callable[[str], t.Any], where: str) -> bool:
    """stackql-deploy's ``if`` with placeholders: ``true``/``false``, ``a == b``, ``a != b``, ``a in [x, y]``, ``a not in [...]``.

    The operator is found in the template, outside its placeholders, string
    literals and ``{% %}`` blocks, and each side is rendered on its own: a value
    cannot bring an operator of its own (``-e "x=dev' != 'zzz"`` stays one side's
    text), nor can a literal (``'{{ x }}' in ['a != b']``) or a block's test
    (``{% if x == 'dev' %}true{% else %}false{% endif %}`` is rendered whole).
    """
    outside = _blank_literals(template)
    for operator in ("==", "!=", " not in ", " in "):
        at = outside.find(operator)
        if at < 0:
            continue
        left = as_text(render(template[:at])).strip().strip("'\"")
        right = as_text(render(template[at + len(operator) :])).strip()
        if operator in ("==", "!="):
            return (left == right.strip("'\"")) == (operator == "==")
        if not (right.startswith("[") and right.endswith("]")):
            break
        items = [item.strip().strip("'\"") for item in right[1:-1].split(",") if item.strip()]
        return (left in items) == (operator == " in ")
    else:
        whole = as_text(render(template)).strip().lower()
        if whole in ("true", "false"):
            return whole == "true"
    raise StackError(f"{where}: cannot read the condition {template!r} (true, false, a == b, a != b, a in [...], a not in [...])")


def _blank_literals(template: str) -> str:
    """``template`` with every string, quoted name, ``{{ ... }}`` and ``{% ... %}`` blanked out, same length:
    what is left is where the condition's own operator can be."""
    from cfql.sql import scanner

    text = list(template)
    for token in scanner.tokenize(template, template=True):
        if token.kind in (scanner.STRING, scanner.QUOTED, scanner.PLACEHOLDER, scanner.BLOCK):
            text[token.start : token.end] = " " * (token.end - token.start)
    return "".join(text)

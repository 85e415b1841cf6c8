"""SHOW [EXTENDED] INSERT INTO: an INSERT template per insert method of a resource, from its document.

One row per method of the resource's ``sqlVerbs.insert``, in that order, with
``method`` and ``template``: a cfql statement in the style of StackQL's
reference pages, one name or value a line —

    INSERT INTO provider.service.resource (
    name,
    ...
    parent_id
    )
    SELECT
    '{{ name }}' /* required */,
    ...
    RETURNING
    id,
    status
    ;

Body properties come first, then parameters (path, query, header, server),
each by name. Every required column is marked ``/* required */`` (the page
marks only required body properties; a required path parameter is as
required). Strings, objects and arrays are quoted placeholders (an object
or array column takes JSON text, which cfql's templating writes for a
dict or list); booleans and numbers are bare ``{{ flag }}``. A server
variable or header with a default is optional, as the statement may leave
it out. RETURNING lists the columns of the method's rows
(``Method.row_schema``): they are what cfql's RETURNING accepts (for a
method without ``objectKey`` they are the response's top-level fields, as on
the reference page); a method whose rows have no documented columns gets no
RETURNING.

A placeholder is named after its column when that name is a template
variable Jinja can read; otherwise (``X-Stack-Target``, ``none``) it is the
name made one (``X_Stack_Target``, ``none_``). A column is written bare
when cfql's parser reads it back as that column, otherwise quoted.

``EXTENDED`` adds a comment to each value: the column's description and its
allowed values, kept on one line and unable to end the comment early or to
start a template tag. ``/*+ REQUIRED */`` keeps the required columns only.
With a column list (``SHOW INSERT INTO r (a, b)``) the one method that
``INSERT INTO r (a, b) ...`` would call is chosen, as the planner chooses it
(so with its errors), and the template has exactly those columns.

A method cfql cannot drive is not left out, so that a resource's list is
whole: its template is a SQL comment saying why, which a script runs as
nothing.
"""

from __future__ import annotations

import functools
import typing as t

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError, SQLSyntaxError
from cfql.plan.method_io import inputs, one_line_description, schema_type
from cfql.plan.resolver import resolve
from cfql.provider.model import Field, Method, Resource
from cfql.result import Result
from cfql.sql.dialect import StackQL, parse_statement

COLUMNS = ["method", "template"]
_BARE_TYPES = frozenset({"boolean", "integer", "number"})
#: Names Jinja does not read as a variable: its constants, ``not``, and ``self`` (the template itself).
_NOT_VARIABLES = frozenset({"true", "false", "none", "True", "False", "None", "not", "self"})


def show_insert(resource: Resource, columns: t.Sequence[str] | None, extended: bool, required_only: bool) -> Result:
    """The templates of ``resource``'s insert methods, or of the one a column list resolves to."""
    if columns is not None:
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                raise ProgrammingError(f"column {name} is given twice")
            seen.add(name)
        method = resolve(resource, "insert", anywhere=columns).pick.method
        chosen = [method.fields[name] for name in columns]
        return Result(list(COLUMNS), [_row(method, chosen, extended, required_only)])
    methods = resource.methods_for("insert")
    if not methods:
        raise NotSupportedError(f"INSERT is not supported by {resource.id}; use SHOW METHODS IN {resource.id}")
    return Result(list(COLUMNS), [_row(m, template_fields(m), extended, required_only) for m in methods])


def template_fields(method: Method) -> list[Field]:
    """Body properties by name, then parameters by location and name: the reference page's order."""
    ordered = inputs(method)  # by location (body last) and name
    return [f for f in ordered if f.location == "body"] + [f for f in ordered if f.location != "body"]


def _row(method: Method, fields: list[Field], extended: bool, required_only: bool) -> dict[str, str]:
    if method.unsupported:
        text = f"-- {method.resource_id}.{method.name} cannot be used: {_defused(_one_line(method.unsupported))}"
    else:
        text = template(method, [f for f in fields if f.required or not required_only], extended)
    return {"method": method.name, "template": text}


def template(method: Method, fields: t.Sequence[Field], extended: bool) -> str:
    """An INSERT of ``fields`` into ``method``'s resource, one placeholder per column."""
    names = placeholder_names([f.name for f in fields])
    lines = [f"INSERT INTO {method.resource_id} ("]
    lines += [sql_name(f.name) + ("," if i < len(fields) - 1 else "") for i, f in enumerate(fields)]
    lines += [")", "SELECT"]
    for i, f in enumerate(fields):
        placeholder = "{{ " + names[f.name] + " }}"
        parts = [placeholder if schema_type(f.schema) in _BARE_TYPES else f"'{placeholder}'"]
        if f.required:
            parts.append("/* required */")
        note = _note(f) if extended else ""
        if note:
            parts.append(f"/* {note} */")
        lines.append(" ".join(parts) + ("," if i < len(fields) - 1 else ""))
    returned = sorted((method.row_schema.get("properties") or {}).keys())
    if returned:
        lines.append("RETURNING")
        lines += [sql_name(name) + ("," if i < len(returned) - 1 else "") for i, name in enumerate(returned)]
    lines.append(";")
    return "\n".join(lines)


def placeholder_names(columns: t.Sequence[str]) -> dict[str, str]:
    """Each column's template variable: its own name when Jinja reads it as one, else that name made one."""
    names = {column: column for column in columns if _is_variable(column)}
    taken = set(names)  # a column named as a variable keeps its name; a made-up one gives way
    for column in columns:
        if column in names:
            continue
        name = unique = _as_variable(column)
        n = 1
        while unique in taken:
            n += 1
            unique = f"{name}_{n}"
        taken.add(unique)
        names[column] = unique
    return names


def _is_variable(name: str) -> bool:
    return name.isidentifier() and name.isascii() and name not in _NOT_VARIABLES


def _as_variable(name: str) -> str:
    """``X-Stack-Target`` → ``X_Stack_Target``, ``1st`` → ``_1st``, ``none`` → ``none_``."""
    text = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in name) or "_"
    if text[0].isdigit():
        text = "_" + text
    return text + "_" if text in _NOT_VARIABLES else text


@functools.lru_cache(maxsize=1024)
def sql_name(name: str) -> str:
    """``name`` as a column of an INSERT's list and of RETURNING: bare when the parser reads it back, else quoted.

    A keyword list cannot say this (``name`` and ``type`` are keywords that
    parse as columns, ``create`` and ``returning`` are not), so cfql's own
    parser is asked, once per name.
    """
    probe = f"INSERT INTO p.s.r ({name}) SELECT 1 RETURNING {name}"
    try:
        node = parse_statement(probe)
    except SQLSyntaxError:
        node = None
    if isinstance(node, exp.Insert) and isinstance(node.this, exp.Schema):
        listed = [c.name for c in node.this.expressions]
        returning = node.args.get("returning")
        back = [c.name for c in returning.expressions] if isinstance(returning, exp.Returning) else []
        if listed == [name] and back == [name] and all(isinstance(c, exp.Column) for c in returning.expressions):
            return name
    return exp.to_identifier(name, quoted=True).sql(dialect=StackQL)


def _note(field: Field) -> str:
    """The EXTENDED comment of a value: description and allowed values, safe inside ``/* ... */``."""
    parts = [one_line_description(field.description, field.schema)]
    enum = field.schema.get("enum")
    if isinstance(enum, list) and enum:
        parts.append("one of: " + ", ".join(_one_line(str(v)) for v in enum))
    return _defused("; ".join(p for p in parts if p))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _defused(text: str) -> str:
    """Text that can stand inside a ``/* */`` comment of a template: no ``*/`` to end it, no ``/*`` to
    nest another (PostgreSQL nests them), and no ``{{``, ``{%`` or ``{#`` for Jinja to read as a tag."""
    openers = ("*/", "/*", "{{", "{%", "{#")
    while any(opener in text for opener in openers):  # "{{{" leaves "{ {{" after one pass
        for opener in openers:
            text = text.replace(opener, f"{opener[0]} {opener[1]}")
    return text

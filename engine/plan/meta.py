"""SHOW and DESCRIBE: what the manifests offer, as rows, without any HTTP call.

``SHOW METHODS`` lists every documented method, those cfql cannot drive
included; ``SHOW EXTENDED METHODS`` adds each one's description and, in
``unsupported``, why cfql cannot drive it ("" when it can). ``DESCRIBE``
shows the columns of one method: see ``describe_method`` for which.
``SHOW INSERT INTO`` writes INSERT templates (``cfql.plan.insert_templates``),
``DESCRIBE METHOD`` lists a method's inputs and outputs
(``cfql.plan.method_io``), ``SHOW VERSION`` says which cfql answers, and
every SHOW takes ``LIKE`` or ``WHERE`` over its rows (``cfql.plan.show_filter``).

Every answer is worked out when the statement is planned, so a wrong target
fails before anything in a script runs, and none sends a request.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.plan.resolver import (
    SELECT_NOT_SUPPORTED,
    check_usable,
    find_method,
    find_provider,
    find_resource,
    find_service,
    resources_of,
)
from cfql.provider.model import SQL_VERBS, Method, Resource
from cfql.provider.registry import Registry
from cfql.result import Result
from cfql.sql.dialect import DescribeMethod, Show, table_parts

Producer = t.Callable[[], Result]


def producer(node: Show | exp.Describe | DescribeMethod, registry: Registry) -> Producer:
    """What a SHOW or DESCRIBE returns, worked out now, at plan time."""
    if isinstance(node, Show):
        return _show_producer(node, registry)
    if isinstance(node, DescribeMethod):
        from cfql.plan.method_io import describe_method_io  # loaded only for DESCRIBE METHOD

        method = find_method(find_resource(registry, table_parts(node.this)), node.args["method"].name)
        return _copies_of(describe_method_io(method, extended=bool(node.args.get("extended"))))
    style = node.args.get("style")
    if style is not None and str(style).upper() != "EXTENDED":
        raise NotSupportedError(f"DESCRIBE {str(style).upper()} is not supported (DESCRIBE [EXTENDED] resource)")
    parts = table_parts(node.this)
    resource = find_resource(registry, parts[:3] if len(parts) == 4 else parts)
    method = describe_method(resource, parts[3] if len(parts) == 4 else None)
    return _describe_producer(method, extended=style is not None)


def _show_producer(node: Show, registry: Registry) -> Producer:
    """Answer SHOW now, at plan time, so a wrong target fails before any statement runs."""
    kind = node.this.name.upper()
    result = _SHOW[kind](registry, node)
    like, where = node.args.get("like"), node.args.get("where")
    if like is not None or where is not None:
        from cfql.plan.show_filter import filter_rows  # SQL's local evaluation, loaded only for LIKE and WHERE

        result = filter_rows(result, like, where, kind)
    return _copies_of(result)


def _copies_of(result: Result) -> Producer:
    """Plans are cached and shared: hand every caller its own rows, holding the result's columns only."""
    columns = list(result.columns)
    return lambda: Result(list(columns), [{c: r.get(c) for c in columns} for r in result.rows])


def _target(node: Show) -> list[str]:
    return [p.name for p in node.args["target"].parts] if node.args.get("target") else []


def _show_providers(registry: Registry, node: Show) -> Result:
    rows = []
    for name in registry.provider_names:
        provider = find_provider(registry, name)
        rows.append({"name": name, "version": provider.version, "title": provider.title})
    return Result(["name", "version", "title"], rows)


def _show_services(registry: Registry, node: Show) -> Result:
    target = _target(node)
    if len(target) != 1:
        raise ProgrammingError("SHOW SERVICES IN <provider>")
    provider = find_provider(registry, target[0])
    columns = ["name", "title"] + (["description"] if node.args.get("extended") else [])
    rows = [
        {"name": s.name, "title": s.title, "description": s.description}
        for s in provider.services.values()
    ]
    return Result(columns, rows)


def _show_resources(registry: Registry, node: Show) -> Result:
    target = _target(node)
    if len(target) != 2:
        raise ProgrammingError("SHOW RESOURCES IN <provider>.<service>")
    service = find_service(registry, *target)
    columns = ["name", "id"] + (["title"] if node.args.get("extended") else [])
    rows = [{"name": r.name, "id": r.id, "title": r.title} for r in resources_of(service, target[0]).values()]
    return Result(columns, sorted(rows, key=lambda r: r["name"]))


def _show_methods(registry: Registry, node: Show) -> Result:
    resource = find_resource(registry, _target(node))
    extended = bool(node.args.get("extended"))
    columns = ["MethodName", "RequiredParams", "SQLVerb"] + (["description", "unsupported"] if extended else [])
    rows = []
    for verb in SQL_VERBS:
        for method in sorted(resource.methods_for(verb), key=lambda m: m.name):
            rows.append(
                {
                    "MethodName": method.name,
                    "RequiredParams": ", ".join(method.required_names),
                    "SQLVerb": verb.upper(),
                    "description": method.description,
                    "unsupported": method.unsupported,
                }
            )
    return Result(columns, rows)


def _show_insert(registry: Registry, node: Show) -> Result:
    from cfql.plan.insert_templates import show_insert  # loaded only for SHOW INSERT INTO

    given = node.args.get("columns")
    columns = [c.name for c in given] if given is not None else None
    resource = find_resource(registry, _target(node))
    return show_insert(resource, columns, bool(node.args.get("extended")), bool(node.args.get("required")))


def _show_version(registry: Registry, node: Show) -> Result:
    """cfql's version (StackQL's one column); EXTENDED adds the Python and platform running it.

    StackQL's EXTENDED gives the build's commit and date, which an installed
    Python package does not record; the interpreter is what tells two cfql
    installations apart.
    """
    import platform
    import sys

    from cfql.version import installed_version

    row = {
        "version": installed_version(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{sys.platform}/{platform.machine()}",
    }
    return Result(["version", "python", "platform"] if node.args.get("extended") else ["version"], [row])


_SHOW: dict[str, t.Callable[[Registry, Show], Result]] = {
    "PROVIDERS": _show_providers,
    "SERVICES": _show_services,
    "RESOURCES": _show_resources,
    "METHODS": _show_methods,
    "INSERT": _show_insert,
    "VERSION": _show_version,
}


def describe_method(resource: Resource, name: str | None) -> Method:
    """The method whose row columns ``DESCRIBE`` shows.

    ``DESCRIBE p.s.r.m`` names it (any verb: an insert's columns are what its
    RETURNING can name). ``DESCRIBE p.s.r`` takes the select method that
    ``SELECT * FROM p.s.r`` uses when WHERE gives no more than it must: the
    one with the fewest required names — the list, not the read by id, since
    the planner picks the match with the most required names and a read by
    id only matches once its id is given. Ties go to the method listed first
    under ``sqlVerbs.select``, which is StackQL's choice for every DESCRIBE.
    A list and a read by id often return different shapes (summaries against
    the whole object): this is why DESCRIBE shows one method, not a union.
    Methods cfql cannot drive are passed over; if only such remain, DESCRIBE
    gives the reason, as the SELECT would.
    """
    if name is not None:
        return check_usable(find_method(resource, name))
    methods = resource.methods_for("select")
    if not methods:
        raise NotSupportedError(SELECT_NOT_SUPPORTED)
    usable = [m for m in methods if not m.unsupported]
    if not usable:
        return check_usable(methods[0])
    return min(usable, key=lambda m: len(m.required_names))  # min keeps the first of equals


def _describe_producer(method: Method, extended: bool) -> Producer:
    """The columns of ``method``'s rows, from its row schema (name, type and, EXTENDED, description)."""
    rows = [
        {
            "name": name,
            "type": schema.get("type", "object" if "properties" in schema else "string"),
            "description": schema.get("description", ""),
        }
        for name, schema in (method.row_schema.get("properties") or {}).items()
    ]
    names = ["name", "type"] + (["description"] if extended else [])
    return _copies_of(Result(names, rows))

"""SHOW and DESCRIBE: what the manifests offer, as rows, without any HTTP call.

``SHOW METHODS`` lists every documented method, those cfql cannot drive
included; ``SHOW EXTENDED METHODS`` adds each one's description and, in
``unsupported``, why cfql cannot drive it ("" when it can). ``DESCRIBE``
shows the columns of one method: see ``describe_method`` for which.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from cfql.errors import NotSupportedError, ProgrammingError
from cfql.plan.resolver import (
    SELECT_NOT_SUPPORTED,
    check_usable,
    find_provider,
    find_resource,
    find_service,
    resources_of,
)
from cfql.plan.schema import did_you_mean
from cfql.provider.model import SQL_VERBS, Method, Resource
from cfql.provider.registry import Registry
from cfql.result import Result
from cfql.sql.dialect import Show, table_parts

Producer = t.Callable[[], Result]


def producer(node: Show | exp.Describe, registry: Registry) -> Producer:
    """What a SHOW or DESCRIBE returns, worked out now, at plan time."""
    if isinstance(node, Show):
        return _show_producer(node, registry)
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
    target = [p.name for p in node.args["target"].parts] if node.args.get("target") else []
    result = _SHOW[kind](registry, target, bool(node.args.get("extended")))
    like = node.args.get("like")
    if isinstance(like, exp.Literal):
        from cfql.rows.rowexpr import like_regex  # SQL's local evaluation, loaded only for LIKE

        pattern = like_regex(like.this)
        key = result.columns[0]
        result.rows = [r for r in result.rows if pattern.fullmatch(str(r[key]))]
    return _copies_of(result)


def _copies_of(result: Result) -> Producer:
    """Plans are cached and shared: hand every caller its own rows."""
    return lambda: Result(list(result.columns), [dict(r) for r in result.rows])


def _show_providers(registry: Registry, target: list[str], extended: bool) -> Result:
    rows = []
    for name in registry.provider_names:
        provider = find_provider(registry, name)
        rows.append({"name": name, "version": provider.version, "title": provider.title})
    return Result(["name", "version", "title"], rows)


def _show_services(registry: Registry, target: list[str], extended: bool) -> Result:
    if len(target) != 1:
        raise ProgrammingError("SHOW SERVICES IN <provider>")
    provider = find_provider(registry, target[0])
    columns = ["name", "title"] + (["description"] if extended else [])
    rows = [
        {"name": s.name, "title": s.title, "description": s.description}
        for s in provider.services.values()
    ]
    return Result(columns, rows)


def _show_resources(registry: Registry, target: list[str], extended: bool) -> Result:
    if len(target) != 2:
        raise ProgrammingError("SHOW RESOURCES IN <provider>.<service>")
    service = find_service(registry, *target)
    columns = ["name", "id"] + (["title"] if extended else [])
    rows = [{"name": r.name, "id": r.id, "title": r.title} for r in resources_of(service, target[0]).values()]
    return Result(columns, sorted(rows, key=lambda r: r["name"]))


def _show_methods(registry: Registry, target: list[str], extended: bool) -> Result:
    resource = find_resource(registry, target)
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
                    **({"unsupported": method.unsupported} if extended else {}),
                }
            )
    return Result(columns, rows)


_SHOW: dict[str, t.Callable[[Registry, list[str], bool], Result]] = {
    "PROVIDERS": _show_providers,
    "SERVICES": _show_services,
    "RESOURCES": _show_resources,
    "METHODS": _show_methods,
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
        method = resource.methods.get(name)
        if method is None:
            raise ProgrammingError(
                f"unknown method {resource.id}.{name}{did_you_mean(name, resource.methods)}; "
                f"methods: {', '.join(sorted(resource.methods))}"
            )
        return check_usable(method)
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

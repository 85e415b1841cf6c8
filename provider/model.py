"""What a provider offers, as the engine sees it: Provider → Service → Resource → Method.

These objects are built from the manifests (see ``provider.loader``) and are
immutable afterwards, so plans can hold on to them and share them freely.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cfql.rows.jsonpath import compile_path

# The order in which SHOW METHODS groups verbs; EXEC is every method not bound to a verb.
SQL_VERBS = ("select", "insert", "delete", "update", "replace", "exec")
#: Where a field is sent, in the order SHOW METHODS lists required names and DESCRIBE METHOD its inputs.
FIELD_LOCATIONS = ("path", "query", "header", "server", "body")


@dataclass(frozen=True)
class Field:
    """One thing a statement can supply: a server variable, a path, query or header parameter, or a body property."""

    name: str  # as SQL names it
    location: str  # "server", "path", "query", "header" or "body"
    required: bool
    schema: t.Mapping[str, t.Any]
    description: str = ""
    default: t.Any = None  # sent when the statement gives no value (server variables, header parameters)
    env_var: str | None = None  # a server variable's value from the environment (StackQL's x-stackQL-envVar)
    wire: str | None = None  # the name the API uses when SQL's differs (a body property under ``data__``)
    inside: str | None = None  # naive_DesiredState: the body property it is sent inside (as JSON text), if any

    @property
    def api_name(self) -> str:
        return self.wire or self.name

    @property
    def type_name(self) -> str:
        schema = self.schema
        if "type" in schema:
            return str(schema["type"])
        if "enum" in schema:
            return "string"
        return "object" if "anyOf" in schema or "properties" in schema else "any"


@dataclass(frozen=True)
class PageNumbering:
    """Numbered pages: no token comes back, the next page is one more.

    StackQL's ``algorithm: page_number`` (the current page and the page
    count), cfql's ``x-cfql-pageNumber``, or inferred from the document (see
    ``cfql.provider.pagination``). The JSONPaths say, when the response gives
    them, how many pages remain — then the rest can be read at once; otherwise
    a page shorter than ``sizeKey`` asked for (or an empty one) is the last.
    """

    first: int = 1
    size_key: str | None = None  # the query parameter that sets the page size
    total_items: str | None = None  # items across all pages
    last_index: str | None = None  # 0-based index of this page's last item
    total_pages: str | None = None
    current_page: str | None = None
    page_size: str | None = None  # the page size the response reports (``result_info.per_page``)


@dataclass(frozen=True)
class Pagination:
    """How a list method's pages follow one another: StackQL's ``x-stackQL-config.pagination``.

    ``request_location`` is where the next request carries the token (query,
    body, header), or ``request`` when the token is the next page's whole URL;
    ``response_key`` is a JSONPath into the body or a header name, and
    ``algorithm: RFC5988`` reads a ``Link`` header's ``rel="next"``.
    Read or inferred by ``cfql.provider.pagination``.
    """

    request_key: str = ""
    request_location: str = "query"
    response_key: str = ""
    response_location: str = "body"
    algorithm: str | None = None
    numbering: PageNumbering | None = None


@dataclass(frozen=True, eq=False)  # one object per documented thing: identity is equality
class Method:
    """A documented API operation reachable from SQL."""

    name: str
    resource_id: str
    sql_verb: str
    http_method: str
    path: str
    base_url: str
    parameters: t.Mapping[str, Field]
    body_fields: t.Mapping[str, Field]
    has_body: bool
    response_schema: t.Mapping[str, t.Any]
    object_key: str | None = None
    description: str = ""
    pagination: Pagination | None = None
    #: Field names the provider declares secret (``x-cfql-config.secretFields``), lower-case:
    #: kept here so whatever shows this method's values can mask them without the provider.
    secret_names: frozenset[str] = frozenset()
    #: Why cfql cannot drive this method (GraphQL, an XML body, a transform ...), or "" when it can.
    unsupported: str = ""
    request_media: str | None = None  # the body's media type (``request.mediaType``); None without a body
    body_base: t.Mapping[str, t.Any] | None = None  # ``request.base``: a body every request starts from
    body_wrap: str | None = None  # naive_DesiredState: the body property the columns are sent inside, as JSON text
    #: Whether a value outside the document's enums and bounds is refused (a document cfql ships, whose
    #: constraints are the API's) or sent with a warning (one written elsewhere: see ``cfql.plan.schema``).
    strict_schema: bool = True

    @cached_property
    def fields(self) -> dict[str, Field]:
        """Every name a statement may supply; a parameter wins over a body property of the same name."""
        return {**self.body_fields, **self.parameters}

    @cached_property
    def required_names(self) -> tuple[str, ...]:
        """Required path params sorted, then query, header, server and body names, as StackQL lists them."""
        by_location: dict[str, list[str]] = {location: [] for location in FIELD_LOCATIONS}
        for f in self.fields.values():
            if f.required:
                by_location[f.location].append(f.name)
        return tuple(n for loc in FIELD_LOCATIONS for n in sorted(by_location[loc]))

    @cached_property
    def row_schema(self) -> t.Mapping[str, t.Any]:
        """Schema of one result row: the response, or the items under ``object_key`` (a JSONPath)."""
        schema = self.response_schema
        if self.object_key:
            for step in compile_path(self.object_key):
                if isinstance(step, str):
                    schema = (schema.get("properties") or {}).get(step, {})
                else:  # an index or [*]: the array's items
                    schema = schema.get("items", {})
            if schema.get("type") == "array":
                schema = schema.get("items", {})
        return schema

    @property
    def paged(self) -> bool:
        """Whether SELECT follows pages: pagination is declared and this method takes its request token.

        A service-wide block also reaches methods that do not page (a get by
        id); those do not document the token's parameter or body property.
        """
        spec = self.pagination
        if spec is None:
            return False
        if spec.request_location == "request":
            return True
        fields = self.body_fields if spec.request_location == "body" else self.parameters
        return any(f.api_name == spec.request_key for f in fields.values())


@dataclass(frozen=True, eq=False)  # one object per documented thing: identity is equality
class Resource:
    """A table-like group of methods, with the SQL verbs each method answers to."""

    id: str
    name: str
    title: str
    methods: t.Mapping[str, Method]
    sql_verbs: t.Mapping[str, tuple[str, ...]]

    def methods_for(self, verb: str) -> list[Method]:
        return [self.methods[name] for name in self.sql_verbs.get(verb, ())]


@dataclass(eq=False)
class Service:
    """A group of resources sharing one OpenAPI document, loaded on first use."""

    name: str
    title: str
    description: str
    _load: t.Callable[[], t.Mapping[str, Resource]] = field(repr=False)

    @cached_property
    def resources(self) -> t.Mapping[str, Resource]:
        """Resources by name; the document is read on first use, each resource built when first looked up."""
        return self._load()


@dataclass(frozen=True)
class Conventions:
    """How a provider's API behaves beyond its operations, from ``x-cfql-config`` in provider.yaml.

    The engine reads these instead of knowing any provider: where error
    responses keep their message, how fast it may send, which field names are
    secret, and which local emulator ``--sandbox`` starts for it.
    """

    base_url_env_var: str | None = None
    rate_limit: str | None = None  # "N/SECONDS", or None for no client-side pacing
    error_message_paths: tuple[str, ...] = ("$.message",)
    error_code_paths: tuple[str, ...] = ()
    secret_names: frozenset[str] = frozenset()  # lower-case field names
    sandbox: t.Mapping[str, str] = field(default_factory=dict)  # start/serve: "module:function"
    starter: str | None = None  # "package:folder" holding the stack `cfql deploy init` writes


@dataclass(eq=False)
class Provider:
    name: str
    title: str
    description: str
    services: dict[str, Service]
    auth: t.Mapping[str, t.Any]
    conventions: Conventions = field(default_factory=Conventions)
    version: str = ""
    document: Path | None = None  # its provider.yaml

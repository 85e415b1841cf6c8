"""Build Provider/Service/Resource/Method objects from StackQL-format manifests.

A manifest directory holds ``<provider>/provider.yaml`` and the OpenAPI 3
service documents it references. Everything the engine knows about a method
(HTTP verb, path, parameters, body schema, SQL verb) comes from here, so adding
a resource means adding YAML, not Python.
"""

from __future__ import annotations

import json
import os
import typing as t
import zlib
from pathlib import Path

from cfql.provider.model import (
    Conventions,
    Field,
    Method,
    PageNumbering,
    Pagination,
    Provider,
    Resource,
    Service,
)

# cfql.manifests sits beside cfql.provider's parent once installed (cfql/manifests), and in the
# source tree too (manifests/ beside provider/), so one path serves wheels and editable installs.
MANIFESTS_DIR = Path(__file__).resolve().parent.parent / "manifests"


def read_yaml(path: Path) -> t.Any:
    """A manifest document, from the JSON cache when it is as new as the YAML.

    Parsing YAML (and importing pyyaml) is most of a cold start; the cache,
    keyed by path, size and mtime, turns that into one ``json.load``.
    """
    cache = _cache_file(path)
    if cache is not None:
        try:
            with open(cache, "rb") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            pass
    import yaml

    with open(path, "rb") as fh:
        document = yaml.load(fh, Loader=_loader())
    if cache is not None:
        _write_atomically(cache, json.dumps(document, separators=(",", ":")))
    return document


def _loader() -> t.Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is several times faster


def _cache_file(path: Path) -> Path | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cfql" / "manifests"
    where = zlib.crc32(str(path.resolve()).encode())
    return root / f"{path.stem}-{where:08x}-{stat.st_size}-{stat.st_mtime_ns}.json"


def _write_atomically(target: Path, text: str) -> None:
    """Best effort: a read-only or full disk only costs the next start its speed."""
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temp, target)
    except OSError:
        pass


def load_provider(provider_dir: Path) -> Provider:
    """Read a provider document; its services are loaded only when first touched."""
    document = read_yaml(provider_dir / "provider.yaml")
    conventions = _conventions(document.get("x-cfql-config") or {})
    services = {}
    for name, entry in (document.get("providerServices") or {}).items():
        service_path = provider_dir / entry["service"]["$ref"]
        services[name] = Service(
            name=name,
            title=entry.get("title", name),
            description=entry.get("description", ""),
            _load=lambda p=service_path, prov=document["name"], svc=name: load_resources(
                p, prov, svc, conventions.secret_names
            ),
        )
    config = document.get("config") or {}
    return Provider(
        name=document["name"],
        title=document.get("title", document["name"]),
        description=document.get("description", ""),
        services=services,
        auth=config.get("auth") or {},
        conventions=conventions,
    )


def _conventions(raw: t.Mapping[str, t.Any]) -> Conventions:
    errors = raw.get("errors") or {}
    defaults = Conventions()
    return Conventions(
        base_url_env_var=raw.get("baseUrlEnvVar"),
        rate_limit=str(raw["rateLimit"]) if raw.get("rateLimit") else None,
        error_message_paths=tuple(errors.get("message") or defaults.error_message_paths),
        error_code_paths=tuple(errors.get("code") or ()),
        secret_names=frozenset(str(n).lower() for n in raw.get("secretFields") or ()),
        sandbox=dict(raw.get("sandbox") or {}),
    )


def load_resources(
    service_path: Path, provider: str, service: str, secret_names: frozenset[str] = frozenset()
) -> Resources:
    document = read_yaml(service_path)
    refs = _RefResolver(document)
    base_url = (document.get("servers") or [{}])[0].get("url", "")
    raw_resources = document.get("components", {}).get("x-stackQL-resources", {})
    pagination = _pagination((document.get("x-stackQL-config") or {}).get("pagination"))

    def build(name: str) -> Resource:
        resource_id = f"{provider}.{service}.{name}"
        return _build_resource(name, raw_resources[name], refs, base_url, resource_id, pagination, secret_names)

    return Resources(list(raw_resources), build)


class Resources(t.Mapping[str, Resource]):
    """A service's resources by name, each built from its document the first time it is looked up.

    A statement names one resource, so it pays for that one only; listing
    them all (SHOW RESOURCES, completion) builds them all, once.
    """

    def __init__(self, names: t.Sequence[str], build: t.Callable[[str], Resource]):
        self._names = dict.fromkeys(names)  # ordered, and O(1) to test
        self._build = build
        self._built: dict[str, Resource] = {}

    def __getitem__(self, name: str) -> Resource:
        found = self._built.get(name)
        if found is None:
            if name not in self._names:
                raise KeyError(name)
            found = self._built[name] = self._build(name)
        return found

    def __iter__(self) -> t.Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _pagination(raw: t.Mapping[str, t.Any] | None) -> Pagination | None:
    """StackQL's ``pagination`` block (service-wide, or a method's own ``config``), or None."""
    if not raw:
        return None
    request = raw.get("requestToken") or {}
    response = raw.get("responseToken") or {}
    numbered = response.get("x-cfql-pageNumber")
    numbering = None
    if numbered is not None:
        numbering = PageNumbering(
            first=int(numbered.get("first", 1)),
            size_key=numbered.get("sizeKey"),
            total_items=numbered.get("totalItems"),
            last_index=numbered.get("lastIndex"),
            total_pages=numbered.get("totalPages"),
            current_page=numbered.get("currentPage"),
        )
    return Pagination(
        request_key=str(request.get("key") or ""),
        request_location=str(request.get("location") or "query"),
        response_key=str(response.get("key") or ""),
        response_location=str(response.get("location") or "body"),
        algorithm=response.get("algorithm"),
        numbering=numbering,
    )


def _build_resource(
    name: str,
    raw: dict,
    refs: _RefResolver,
    base_url: str,
    resource_id: str,
    pagination: Pagination | None,
    secret_names: frozenset[str],
) -> Resource:
    sql_verbs: dict[str, tuple[str, ...]] = {}
    verb_of: dict[str, str] = {}
    for verb, entries in (raw.get("sqlVerbs") or {}).items():
        names = tuple(entry["$ref"].rsplit("/", 1)[-1] for entry in entries or ())
        sql_verbs[verb] = names
        for method_name in names:
            verb_of.setdefault(method_name, verb)
    methods = {
        method_name: _build_method(
            method_name,
            spec,
            refs,
            base_url,
            raw.get("id", resource_id),
            verb_of.get(method_name, "exec"),
            pagination,
            secret_names,
        )
        for method_name, spec in (raw.get("methods") or {}).items()
        for method_name, spec in (raw.get("methods") or {}).items()
    }
    sql_verbs["exec"] = tuple(n for n in methods if n not in verb_of)
    return Resource(
        id=raw.get("id", resource_id),
        name=name,
        title=raw.get("title", name),
        methods=methods,
        sql_verbs=sql_verbs,
    )


def _build_method(
    name: str,
    spec: dict,
    refs: _RefResolver,
    base_url: str,
    resource_id: str,
    verb: str,
    pagination: Pagination | None,
    secret_names: frozenset[str],
) -> Method:
    pointer = spec["operation"]["$ref"]
    operation = refs.resolve(pointer)
    path_item_pointer, http_method = pointer.rsplit("/", 1)
    path = _unescape(path_item_pointer.split("/paths/", 1)[1])
    path_item = refs.resolve(path_item_pointer)

    parameters: dict[str, Field] = {}
    for raw_param in [*path_item.get("parameters", ()), *operation.get("parameters", ())]:
        param = refs.resolve_all(raw_param)
        if param.get("in") not in ("path", "query"):
            continue
        parameters[param["name"]] = Field(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required")) or param["in"] == "path",
            schema=param.get("schema") or {},
            description=param.get("description", ""),
        )

    body_schema = None
    request_body = operation.get("requestBody")
    if request_body:
        media = (spec.get("request") or {}).get("mediaType", "application/json")
        body_schema = refs.resolve_all(request_body)["content"][media]["schema"]
    body_fields: dict[str, Field] = {}
    if body_schema:
        required = set(body_schema.get("required", ()))
        for prop, prop_schema in (body_schema.get("properties") or {}).items():
            body_fields[prop] = Field(
                name=prop,
                location="body",
                required=prop in required,
                schema=prop_schema,
                description=prop_schema.get("description", ""),
            )

    response = spec.get("response") or {}
    status = str(response.get("openAPIDocKey", "200"))
    response_media = response.get("mediaType", "application/json")
    response_spec = refs.resolve_all(operation.get("responses", {}).get(status, {}))
    response_schema = response_spec.get("content", {}).get(response_media, {}).get("schema", {})

    return Method(
        name=name,
        resource_id=resource_id,
        sql_verb=verb,
        http_method=http_method.upper(),
        path=path,
        base_url=base_url,
        parameters=parameters,
        body_fields=body_fields,
        has_body=body_schema is not None,
        response_schema=response_schema,
        object_key=response.get("objectKey"),
        description=operation.get("description", "") or operation.get("summary", ""),
        pagination=_pagination((spec.get("config") or {}).get("pagination")) or pagination,
        secret_names=secret_names,
    )


def _unescape(pointer_part: str) -> str:
    return pointer_part.replace("~1", "/").replace("~0", "~")


class _RefResolver:
    """Resolves local JSON-pointer ``$ref``s, memoising each target's fully resolved form."""

    def __init__(self, document: dict):
        self._document = document
        self._resolved: dict[str, t.Any] = {}

    def resolve(self, pointer: str) -> t.Any:
        node: t.Any = self._document
        for part in pointer.removeprefix("#/").split("/"):
            node = node[_unescape(part)]
        return node

    def resolve_all(self, node: t.Any) -> t.Any:
        """``node`` with every ``$ref`` inside it replaced by its (shared) resolved target."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref not in self._resolved:
                    self._resolved[ref] = {}  # placeholder breaks reference cycles
                    self._resolved[ref] = self.resolve_all(self.resolve(ref))
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                if not siblings:
                    return self._resolved[ref]
                return {**self._resolved[ref], **self.resolve_all(siblings)}
            return {k: self.resolve_all(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve_all(v) for v in node]
        return node

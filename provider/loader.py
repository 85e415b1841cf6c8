"""Build Provider/Service/Resource/Method objects from StackQL provider documents.

A provider is ``<src>/<provider>/<version>/provider.yaml`` and the OpenAPI 3
service documents it references (``$ref``s relative to ``<src>``, as in
StackQL's registry). Everything the engine knows about a method — verb, path,
servers, parameters, body, media types, SQL verb — comes from here, so adding a
resource means adding YAML, not Python.

Documents written for StackQL carry much cfql does not drive (GraphQL, XML,
response transforms ...). Each method is built on its own, when first looked
up; one cfql cannot drive stays listed with the reason (``Method.unsupported``)
and never breaks its service.
"""

from __future__ import annotations

import json
import os
import typing as t
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cfql.provider.model import Conventions, Field, Method, Pagination, Provider, Resource, Service
from cfql.provider.pagination import infer_pagination, read_pagination

T = t.TypeVar("T")

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

    try:
        with open(path, "rb") as fh:
            document = yaml_load(fh)
    except OSError as error:
        raise ProviderDocumentError(f"{path}: cannot be read ({error.strerror or error})") from None
    except yaml.YAMLError as error:  # many lines, naming the parser's states: one is enough
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProviderDocumentError(f"{path}: not valid YAML ({where}{getattr(error, 'problem', None) or 'cannot be parsed'})") from None
    if cache is not None:
        try:
            text = json.dumps(document, separators=(",", ":"))
        except (TypeError, ValueError):  # e.g. a !!binary value: the document works, only uncached
            return document
        _write_atomically(cache, text)
    return document


def yaml_load(stream: t.Any) -> t.Any:
    """Safe YAML, where a tag cfql does not know (``!GetAtt``, ``!include`` ...) reads as its plain value."""
    import yaml

    return yaml.load(stream, Loader=_loader())


_LOADER: t.Any = None


def _loader() -> t.Any:
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is several times faster

        class TolerantLoader(base):  # type: ignore[misc, valid-type]
            """SafeLoader that never builds objects: unknown tags give the scalar, list or mapping under them."""

        def plain(loader: t.Any, _suffix: str, node: t.Any) -> t.Any:
            if isinstance(node, yaml.MappingNode):
                return loader.construct_mapping(node, deep=True)
            if isinstance(node, yaml.SequenceNode):
                return loader.construct_sequence(node, deep=True)
            return loader.construct_scalar(node)

        # Timestamps stay the text they are (OpenAPI examples), so every document is plain JSON data.
        TolerantLoader.add_constructor("tag:yaml.org,2002:timestamp", base.construct_yaml_str)
        TolerantLoader.add_multi_constructor("!", plain)
        TolerantLoader.add_multi_constructor("tag:", plain)
        _LOADER = TolerantLoader
    return _LOADER


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


def load_provider(document_path: Path, src_root: Path | None = None, version: str = "") -> Provider:
    """Read a provider document; its services are loaded only when first touched.

    A service's ``$ref`` is relative to ``src_root`` (StackQL's registry) or,
    failing that, to the provider document's own folder.
    """
    document = read_yaml(document_path)
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise ProviderDocumentError(f"{document_path}: not a provider document (no top-level name)")
    name = document["name"]
    conventions = _conventions(document.get("x-cfql-config") or {})
    services = {}
    for service_name, entry in (document.get("providerServices") or {}).items():
        if not isinstance(entry, dict):
            continue
        ref = ((entry.get("service") or {}).get("$ref")) or ""
        services[service_name] = Service(
            name=service_name,
            title=str(entry.get("title") or service_name),
            description=str(entry.get("description") or ""),
            _load=lambda ref=ref, svc=service_name: load_resources(
                _service_path(ref, document_path, src_root), name, svc, conventions
            ),
        )
    config = document.get("config") or {}
    return Provider(
        name=name,
        title=str(document.get("title") or name),
        description=str(document.get("description") or ""),
        services=services,
        auth=config.get("auth") or {},
        conventions=conventions,
        version=str(document.get("version") or version),
        document=document_path,
    )


class ProviderDocumentError(ValueError):
    """A provider or service document cfql cannot read at all; the message names the file."""


def _service_path(ref: str, document_path: Path, src_root: Path | None) -> Path:
    if not ref:
        raise ProviderDocumentError(f"{document_path}: a service has no service.$ref")
    for base in (src_root, document_path.parent):
        if base is not None and (base / ref).is_file():
            return base / ref
    raise ProviderDocumentError(f"{document_path}: service document {ref} is missing")


#: Field names masked in a provider that does not list its own (``x-cfql-config.secretFields``).
DEFAULT_SECRET_NAMES = frozenset(
    {"password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "private_key",
     "api_key", "apikey", "access_key", "secret_key", "credential", "credentials", "passphrase"}
)


def _conventions(raw: t.Mapping[str, t.Any]) -> Conventions:
    errors = raw.get("errors") or {}
    defaults = Conventions()
    declared = raw.get("secretFields")
    return Conventions(
        base_url_env_var=raw.get("baseUrlEnvVar"),
        rate_limit=str(raw["rateLimit"]) if raw.get("rateLimit") else None,
        error_message_paths=tuple(errors.get("message") or defaults.error_message_paths),
        error_code_paths=tuple(errors.get("code") or ()),
        secret_names=frozenset(str(n).lower() for n in declared) if declared is not None else DEFAULT_SECRET_NAMES,
        sandbox=dict(raw.get("sandbox") or {}),
        starter=str(raw["starter"]) if raw.get("starter") else None,
    )


def load_resources(service_path: Path, provider: str, service: str, conventions: Conventions) -> Resources:
    """A service's resources, each built when first looked up."""
    document = read_yaml(service_path)
    if not isinstance(document, dict):
        raise ProviderDocumentError(f"{service_path}: not an OpenAPI document")
    context = _Context(document, provider, service, conventions, service_path.resolve().is_relative_to(MANIFESTS_DIR))
    raw_resources = (document.get("components") or {}).get("x-stackQL-resources") or {}
    return Resources(
        [name for name, raw in raw_resources.items() if isinstance(raw, dict)],
        lambda name: _build_resource(name, raw_resources[name], context),
    )


class _Lazy(t.Mapping[str, T]):
    """A mapping whose values are built from their names the first time each is looked up."""

    def __init__(self, names: t.Iterable[str], build: t.Callable[[str], T]):
        self._names = dict.fromkeys(names)  # ordered, and O(1) to test
        self._build = build
        self._built: dict[str, T] = {}

    def __getitem__(self, name: str) -> T:
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

    def built(self) -> list[T]:
        """The values built so far, building none."""
        return list(self._built.values())


class Resources(_Lazy[Resource]):
    """A service's resources by name: a statement names one resource, so it pays for that one only."""


class Methods(_Lazy[Method]):
    """A resource's methods by name, each built on its own: one cfql cannot drive never breaks the others."""


@dataclass(frozen=True)
class _Context:
    """What every method of one service document shares."""

    document: dict
    provider: str
    service: str
    conventions: Conventions
    shipped: bool = False  # the document is one cfql ships (under MANIFESTS_DIR): its enums and bounds bind

    @cached_property
    def refs(self) -> _RefResolver:
        return _RefResolver(self.document)

    @cached_property
    def pagination(self) -> Pagination | None:
        return read_pagination((self.document.get("x-stackQL-config") or {}).get("pagination"))


def _build_resource(name: str, raw: dict, context: _Context) -> Resource:
    resource_id = str(raw.get("id") or f"{context.provider}.{context.service}.{name}")
    raw_methods = {k: v for k, v in (raw.get("methods") or {}).items() if isinstance(v, dict)}
    sql_verbs: dict[str, tuple[str, ...]] = {}
    verb_of: dict[str, str] = {}
    for verb, entries in (raw.get("sqlVerbs") or {}).items():
        names = tuple(
            ref.rsplit("/", 1)[-1]
            for entry in entries or ()
            if isinstance(entry, dict) and isinstance(ref := entry.get("$ref"), str) and ref.rsplit("/", 1)[-1] in raw_methods
        )
        sql_verbs[verb] = names
        for method_name in names:
            verb_of.setdefault(method_name, verb)
    sql_verbs["exec"] = tuple(n for n in raw_methods if n not in verb_of)

    def build(method_name: str) -> Method:
        verb = verb_of.get(method_name, "exec")
        try:
            return _build_method(method_name, raw_methods[method_name], context, resource_id, verb)
        except Exception as error:  # a document cfql cannot read for this method: listed, never fatal
            return _unsupported(method_name, resource_id, verb, f"its document cannot be read ({_why(error)})", context)

    return Resource(
        id=resource_id,
        name=name,
        title=str(raw.get("title") or name),
        methods=Methods(raw_methods, build),
        sql_verbs=sql_verbs,
    )


def _why(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing {error.args[0]!r}"
    return f"{type(error).__name__}: {error}"[:200]


def _unsupported(name: str, resource_id: str, verb: str, reason: str, context: _Context, **known: t.Any) -> Method:
    return Method(
        name=name,
        resource_id=resource_id,
        sql_verb=verb,
        http_method=known.pop("http_method", ""),
        path=known.pop("path", ""),
        base_url=known.pop("base_url", ""),
        parameters=known.pop("parameters", {}),
        body_fields={},
        has_body=False,
        response_schema={},
        secret_names=context.conventions.secret_names,
        unsupported=reason,
        **known,
    )


def _both_spellings(names: frozenset[str], body_fields: t.Mapping[str, Field]) -> frozenset[str]:
    """The secret names, with each body field that has one under both its SQL and its API name.

    A provider declares a secret field by either (``passphrase`` or ``data__passphrase``), and
    whatever masks it sees one or the other: a statement's values by SQL name, a request's body by the API's.
    """
    extra = {
        spelling
        for field_ in body_fields.values()
        if field_.name.lower() in names or field_.api_name.lower() in names
        for spelling in (field_.name.lower(), field_.api_name.lower())
    }
    return names | extra if extra - names else names


#: Request media types cfql encodes: JSON (and its ``+json``/vendor variants) and HTML forms.
def _is_json(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base.startswith("application/x-amz-json")


FORM = "application/x-www-form-urlencoded"

#: ``requestBodyTranslate`` algorithms: the SQL name of a body property is ``prefix + property``.
#: With none, StackQL prefixes every body property with ``data__``.
BODY_PREFIX = {None: "data__", "naive": "", "naive_DesiredState": ""}


def _build_method(name: str, spec: dict, context: _Context, resource_id: str, verb: str) -> Method:
    refs = context.refs
    path_item_pointer, http_method = spec["operation"]["$ref"].rsplit("/", 1)
    http_method = http_method.lower()  # older documents write ``.../POST``; OpenAPI's keys are lower-case
    path_item = refs.resolve(path_item_pointer)
    operation = path_item[http_method]
    path = _unescape(path_item_pointer.split("/paths/", 1)[1])
    config = spec.get("config") or {}
    request = spec.get("request") or {}
    response = spec.get("response") or {}
    servers = operation.get("servers") or path_item.get("servers") or context.document.get("servers") or [{}]
    server = refs.resolve_all(servers[0])
    base_url = str(server.get("url") or "")

    parameters: dict[str, Field] = {}
    for var_name, var in (server.get("variables") or {}).items():
        var = var if isinstance(var, dict) else {}
        parameters[var_name] = Field(
            name=var_name,
            location="server",
            required="default" not in var and not var.get("x-stackQL-envVar"),
            schema={"type": "string", **({"enum": var["enum"]} if var.get("enum") else {})},
            description=str(var.get("description") or ""),
            default=var.get("default"),
            env_var=var.get("x-stackQL-envVar"),
        )
    for raw_param in [*path_item.get("parameters", ()), *operation.get("parameters", ())]:
        param = refs.resolve_all(raw_param)
        location = param.get("in")
        if location not in ("path", "query", "header"):
            continue  # cookies: nothing in the published registry needs them
        if location == "header" and param["name"].lower() in _HEADERS_CFQL_SETS:
            continue
        schema = param.get("schema") or {}
        parameters[param["name"]] = Field(
            name=param["name"],
            location=location,
            required=(bool(param.get("required")) or location == "path") and not (location == "header" and "default" in schema),
            schema=schema,
            description=str(param.get("description") or ""),
            default=schema.get("default") if location == "header" else None,
        )

    def unsupported(reason: str) -> Method:
        return _unsupported(
            name, resource_id, verb, reason, context,
            http_method=http_method.upper(), path=path, base_url=base_url, parameters=parameters,
            description=str(operation.get("description") or operation.get("summary") or ""),
        )

    if operation.get("x-stackQL-graphQL") or operation.get("x-stackql-protocol") == "graphql":
        return unsupported("it is a GraphQL query (x-stackQL-graphQL), which cfql does not run yet")
    transform = response.get("transform")
    if transform:
        kind = transform.get("type") if isinstance(transform, dict) else transform
        return unsupported(f"its response transform {kind} is not implemented")
    algorithm = (config.get("requestBodyTranslate") or {}).get("algorithm")
    if algorithm not in BODY_PREFIX:
        return unsupported(f"its requestBodyTranslate algorithm {algorithm} is not implemented")
    request_translate = (config.get("requestTranslate") or {}).get("algorithm")
    if request_translate:
        return unsupported(f"its requestTranslate algorithm {request_translate} is not implemented")

    body_schema = None
    media = str(request.get("mediaType") or "application/json")
    request_body = operation.get("requestBody")
    if request_body:
        content = refs.resolve_all(request_body).get("content") or {}
        if content:
            if not (_is_json(media) or media == FORM):
                return unsupported(f"its request body is {media}; cfql sends JSON and form-urlencoded bodies")
            chosen = content.get(media) or next(iter(content.values()))
            body_schema = (chosen or {}).get("schema") or {"type": "object"}
        else:  # ``content: {}``: a documented body with nothing in it (e.g. a POST that stops something)
            body_schema = {"type": "object"}
    body_fields, wrap = _body_fields(body_schema, BODY_PREFIX[algorithm], algorithm == "naive_DesiredState")

    base = request.get("base")
    if isinstance(base, str) and base.strip():
        base = json.loads(base)
    status = str(response.get("openAPIDocKey", "200"))
    response_media = str(response.get("mediaType") or "application/json")
    if not _is_json(response_media) and response_media != "string":
        return unsupported(f"its response is {response_media}; cfql reads JSON responses")
    responses = operation.get("responses") or {}
    response_spec = refs.resolve_all(responses.get(status) or {})
    content = response_spec.get("content") or {}
    response_schema = (content.get(response_media) or next(iter(content.values()), None) or {}).get("schema") or {}
    schema_override = response.get("schema_override")
    if isinstance(schema_override, dict):
        response_schema = refs.resolve_all(schema_override)

    try:
        pagination = read_pagination(config.get("pagination")) or context.pagination or infer_pagination(parameters, response_schema)
    except ValueError as error:  # a block cfql cannot follow: only a read of pages needs it
        if verb == "select":
            return unsupported(f"its pagination cannot be followed ({error})")
        pagination = None

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
        description=str(operation.get("description") or operation.get("summary") or ""),
        pagination=pagination,
        secret_names=_both_spellings(context.conventions.secret_names, body_fields),
        request_media=media if body_schema is not None else None,
        body_base=base if isinstance(base, dict) else None,
        body_wrap=wrap,
        strict_schema=context.shipped,
    )


#: Header parameters a document may list that cfql sets itself (from the media type and the auth config);
#: ``Accept`` is the document's to set (PagerDuty versions its API by it), cfql's JSON default otherwise.
_HEADERS_CFQL_SETS = frozenset({"content-type", "authorization", "content-length", "host", "user-agent"})


def _body_fields(schema: t.Mapping[str, t.Any] | None, prefix: str, desired_state: bool) -> tuple[dict[str, Field], str | None]:
    """The SQL names a body takes: its top-level properties, prefixed as the translate algorithm says.

    ``naive_DesiredState`` (AWS Cloud Control) takes the properties of
    ``DesiredState`` as columns and sends them back as its JSON text.
    """
    if not schema:
        return {}, None
    properties = dict(schema.get("properties") or {})
    required = set(schema.get("required", ()))
    wrap = None
    wrapped: set[str] = set()  # DesiredState's own properties; the others stay beside it (ClientToken ...)
    if desired_state and isinstance(properties.get("DesiredState"), dict):
        inner = properties.pop("DesiredState")
        required.discard("DesiredState")
        required |= set(inner.get("required", ()))
        wrapped = set(inner.get("properties") or {})
        properties = {**properties, **(inner.get("properties") or {})}
        wrap = "DesiredState"
    fields = {}
    for prop, prop_schema in properties.items():
        prop_schema = prop_schema if isinstance(prop_schema, dict) else {}
        fields[prefix + prop] = Field(
            name=prefix + prop,
            location="body",
            required=prop in required,
            schema=prop_schema,
            description=str(prop_schema.get("description") or ""),
            wire=prop,
            inside=wrap if prop in wrapped else None,
        )
    return fields, wrap


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
            node = node[int(part)] if isinstance(node, list) else node[_unescape(part)]
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

"""Context-aware completion, driven entirely by the provider manifests.

Every name offered — providers, services, resources, methods, columns,
parameters, enum values — is read from the registry's Resource/Method model at
completion time, so a new manifest is completable without touching this file.
The manifests are loaded on the first completion that needs them, not at
start-up. Required names are flagged in the menu (``required · string``), and
a name is only offered where the resolver would accept it: body fields after
SET, parameters in WHERE, either in an INSERT column list. After ``:`` the
session's variables are offered (``:mid``), as psql offers its own.
``EXPLAIN statement`` completes as the statement does; SHOW's ``WHERE`` offers
the columns of what that SHOW lists.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from prompt_toolkit.completion import (
    CompleteEvent,
    Completer,
    Completion,
    PathCompleter,
)
from prompt_toolkit.document import Document

from cfql.rows.output import FORMATS
from cfql.shell import context
from cfql.shell.context import Shape, Token
from cfql.sql.values import sql_literal

if t.TYPE_CHECKING:
    from cfql.provider.model import Method, Resource, Service
    from cfql.provider.registry import Registry

START_KEYWORDS = (
    "SELECT", "INSERT INTO", "UPDATE", "REPLACE", "DELETE FROM", "EXEC", "SHOW", "DESCRIBE", "EXPLAIN", "REGISTRY",
)
SHOW_KINDS = ("PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "INSERT INTO", "VERSION")
REGISTRY_ACTIONS = ("LIST", "PULL")
#: Words offered anywhere once one is begun. SHOW's kinds beyond these, EXPLAIN, METHOD, REGISTRY and its
#: actions are offered only where they can stand (``START_KEYWORDS``, ``_next_keywords``, ``_registry``):
#: ``ORDER BY id L`` wants LIMIT, not LIST.
KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "REPLACE", "DELETE",
    "EXEC", "SHOW", "EXTENDED", "PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "IN", "LIKE", "BETWEEN", "IS",
    "DESCRIBE", "RETURNING", "AS", "DISTINCT", "ORDER BY", "GROUP BY", "HAVING", "ASC", "DESC", "LIMIT",
    "OFFSET", "NULL", "TRUE", "FALSE",
)
AGGREGATES = ("COUNT(", "SUM(", "AVG(", "MIN(", "MAX(")
# Which resources a name position offers: only those with a method for the statement's verb.
_NAME_VERB = {"select": "select", "describe": "select", "insert": "insert", "update": "update", "replace": "replace", "delete": "delete"}
# Keywords that usually come next, by (verb, clause) once the previous part is complete.
_NEXT = {
    ("update", "target"): ("SET",),
    ("replace", "target"): ("SET",),
    ("delete", "target"): ("WHERE",),
    ("select", "target"): ("WHERE", "ORDER BY", "LIMIT"),
    ("select", "where"): ("AND", "OR", "ORDER BY", "GROUP BY", "LIMIT"),
    ("select", "order"): ("ASC", "DESC", "LIMIT"),
    ("select", "limit"): ("OFFSET",),
    ("insert", "after_columns"): ("SELECT", "VALUES"),
    ("insert", "values_select"): ("RETURNING",),
    ("insert", "values"): ("RETURNING",),
}
_NEXT_BY_CLAUSE = {"set": ("WHERE", "RETURNING"), "where": ("AND", "RETURNING"), "returning": ("AS",)}
_JSON_EXTRACT = "json_extract"


class SQLCompleter(Completer):
    """Completes StackQL and the shell's backslash commands from the manifests."""

    def __init__(
        self,
        registry: t.Callable[[], Registry] | None = None,
        variables: t.Callable[[], t.Mapping[str, t.Any]] | None = None,
    ):
        self._registry_factory = registry or _default_registry
        self._variables = variables or dict
        self._paths = PathCompleter(expanduser=True)

    @cached_property
    def registry(self) -> Registry:
        return self._registry_factory()

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> t.Iterator[Completion]:
        before = document.text_before_cursor
        if before.lstrip().startswith("\\"):
            yield from self._meta(before.lstrip(), complete_event)
            return
        tokens = context.split(context.tokenize(before))[-1]
        variable = _variable_at(tokens, len(before))
        if variable is not None:
            yield from self._variables_named(variable)
            return
        partial = tokens.pop() if tokens and _is_partial(tokens[-1], len(before)) else None
        word = partial.text if partial else ""
        shape = context.scan(tokens)
        yield from self._in_context(shape, tokens, word, document)

    def _in_context(self, shape: Shape, tokens: list[Token], word: str, document: Document) -> t.Iterator[Completion]:
        """Dispatch on where the cursor is: the first matching situation decides what is offered."""
        last = shape.last
        if shape.verb is None:
            starts = [k for k in START_KEYWORDS if k != "EXPLAIN"] if shape.explain else START_KEYWORDS
            yield from _keywords(starts, word, "statement")
        elif shape.verb == "registry":
            yield from self._registry(last, word)
        elif shape.expect_target:
            if shape.verb == "describe" and last is not None:
                yield from _keywords(_describe_keywords(shape, last.upper), word, "keyword")
            yield from self._names(shape, word)
        elif last is not None and last.is_op("=") and shape.before_last is not None and shape.before_last.kind in ("name", "param"):
            yield from self._values(shape, shape.before_last.text.lstrip("@"), word)
        elif shape.value_column and last is not None and (last.is_op(",") or last.is_op("(") or last.upper == "SELECT"):
            yield from self._values(shape, shape.value_column, word)
        elif word.startswith("'$") and (column := _json_extract_column(tokens)):
            yield from self._json_path(shape, column, word)
        elif shape.in_columns and last is not None and (last.is_op("(") or last.is_op(",")):
            yield from self._fields(shape, "fields", shape.columns, word)
        elif shape.clause == "set" and shape.depth == 0 and last is not None and (last.upper == "SET" or last.is_op(",")):
            yield from self._fields(shape, "body_fields", shape.body, word)
        elif shape.verb == "show" and shape.clause == "where" and last is not None and last.upper in ("WHERE", "AND", "OR", "NOT", "("):
            yield from self._show_columns(tokens, document, word)
        elif shape.clause == "where" and last is not None and last.upper in ("WHERE", "AND", "OR", "NOT", "("):
            yield from self._fields(shape, "parameters", shape.params, word)
            if shape.verb == "select":  # any row column can be filtered on, locally
                yield from self._row_columns(self._plausible(shape), word, {*shape.params, *self._parameters(shape)}, False)
        elif shape.verb == "select" and shape.clause in ("order", "group") and last is not None and last.upper in ("BY", ","):
            yield from self._row_columns(self._plausible(shape), word, _listed_after(tokens, "BY"), False)
        elif shape.clause == "returning" and last is not None and (last.upper == "RETURNING" or last.is_op(",")):
            yield from self._row_columns(self._plausible(shape), word, _listed_after(tokens, "RETURNING"))
        elif shape.verb == "select" and shape.clause == "select" and last is not None and (last.upper == "SELECT" or last.is_op(",")):
            yield from self._select_columns(document, word, _listed_after(tokens, "SELECT"))
        elif shape.verb == "exec" and shape.method is not None and shape.clause == "target" and not (last and last.is_op("=")):
            yield from self._fields(shape, "fields", shape.columns, word, prefix="@")
            yield from _keywords(("@@json",), word, "the whole body as a JSON object")
        else:
            following = _next_keywords(shape)
            yield from _keywords(following if not word else dict.fromkeys([*following, *KEYWORDS]), word, "keyword")

    # -- names: provider.service.resource[.method] ------------------------------------------

    def _names(self, shape: Shape, word: str) -> t.Iterator[Completion]:
        parts = word.split(".")
        registry = self.registry
        verb = None if shape.kind == "METHOD" else _NAME_VERB.get(shape.resolves or "")
        last = parts[-1]
        if len(parts) == 1:
            for name in _match(registry.provider_names, word):
                yield Completion(name, -len(word), display_meta="provider")
            everything = [
                (f"{p}.{s.name}.{r.name}", r)
                for p in registry.provider_names
                for s in _provider_services(registry, p)
                for r in s.resources.values()
                if _offers(r, verb)
            ]
            for full, resource in _match(everything, word, key=lambda item: item[0], substring=True):
                yield Completion(full, -len(word), display_meta=resource.title or "resource")
        elif len(parts) == 2:
            provider = registry.provider(parts[0])
            if provider is not None:
                for service in _match(list(provider.services.values()), last, key=lambda s: s.name):
                    yield Completion(service.name, -len(last), display_meta=service.title or "service")
        elif len(parts) == 3:
            provider = registry.provider(parts[0])
            chosen = provider.services.get(parts[1]) if provider else None
            if chosen is not None:
                offered = [r for r in chosen.resources.values() if _offers(r, verb)]
                for resource in _match(offered, last, key=lambda r: r.name):
                    yield Completion(resource.name, -len(last), display_meta=resource.title or "resource")
        elif len(parts) == 4 and shape.verb in ("exec", "describe"):
            target = context.find_resource(registry, parts[:3])
            if target is not None:
                for method in _match(list(target.methods.values()), last, key=lambda m: m.name):
                    yield Completion(method.name, -len(last), display_meta=f"{method.http_method} · {method.sql_verb}")

    # -- columns, parameters, body fields ---------------------------------------------------

    def _plausible(self, shape: Shape) -> list[Method]:
        resource = context.find_resource(self.registry, shape.target)
        return context.plausible_methods(resource, shape) if resource is not None else []

    def _fields(self, shape: Shape, kind: str, given: t.Sequence[str], word: str, prefix: str = "") -> t.Iterator[Completion]:
        """Names of ``kind`` (fields, parameters, body_fields) the plausible methods accept, required first."""
        methods = self._plausible(shape)
        names: dict[str, None] = {}
        for method in methods:
            names.update(dict.fromkeys(getattr(method, kind)))
        offered = [n for n in names if n not in given]
        offered.sort(key=lambda n: (_required_rank(n, methods), _first_required_index(n, methods), n))
        bare = word[len(prefix):] if word.startswith(prefix) else word
        for name in _match(offered, bare):
            yield Completion(prefix + name, -len(word), display=prefix + name, display_meta=_field_meta(name, methods))

    def _parameters(self, shape: Shape) -> set[str]:
        return {n for m in self._plausible(shape) for n in m.parameters}

    def _values(self, shape: Shape, name: str, word: str) -> t.Iterator[Completion]:
        """Enum members (quoted as SQL literals) or true/false, from the field's (or row column's) schema."""
        schema: t.Mapping[str, t.Any] = {}
        for method in self._plausible(shape):
            found = method.fields.get(name)
            schema = found.schema if found is not None else (method.row_schema.get("properties") or {}).get(name, {})
            if schema:
                break
        if "enum" in schema:
            literals = [sql_literal(v) for v in schema["enum"]]
            meta = f"{name} value"
        elif schema.get("type") == "boolean":
            literals, meta = ["true", "false"], "boolean"
        else:
            return
        bare = word.lstrip("'")
        for literal in _match(literals, bare, key=lambda lit: lit.strip("'")):
            yield Completion(literal, -len(word), display_meta=meta)

    def _row_columns(
        self, methods: t.Sequence[Method], word: str, listed: t.Collection[str], functions: bool = True
    ) -> t.Iterator[Completion]:
        """Columns of a result row not yet ``listed``, from the methods' row schemas (and ``*``, json_extract)."""
        columns: dict[str, str] = {}
        for method in methods:
            for name, schema in (method.row_schema.get("properties") or {}).items():
                if name not in listed:
                    columns.setdefault(name, _schema_type(schema))
        for name in _match(list(columns), word):
            yield Completion(name, -len(word), display_meta=f"column · {columns[name]}")
        if functions:
            for name in _match(["*", _JSON_EXTRACT + "("], word):
                yield Completion(name, -len(word), display_meta="function" if name != "*" else "all columns")

    def _select_columns(self, document: Document, word: str, listed: t.Collection[str]) -> t.Iterator[Completion]:
        """SELECT's columns: from the FROM resource if the statement names one, else from every SELECT resource."""
        statements = context.split(context.tokenize(document.text))
        index = sum(1 for tok in context.tokenize(document.text_before_cursor) if tok.is_op(";"))
        target = context.scan(statements[min(index, len(statements) - 1)]).target
        resource = context.find_resource(self.registry, target)
        yield from _keywords(("DISTINCT",) if not listed else (), word, "keyword")
        yield from _keywords(AGGREGATES, word, "aggregate")
        if resource is not None:
            yield from self._row_columns(resource.methods_for("select"), word, listed)
            return
        methods = [
            m
            for p in self.registry.provider_names
            for s in _provider_services(self.registry, p)
            for r in s.resources.values()
            for m in r.methods_for("select")
        ]
        yield from self._row_columns(methods, word, listed)

    def _json_path(self, shape: Shape, column: str, word: str) -> t.Iterator[Completion]:
        """``json_extract(data, '$.`` → the keys of ``data``'s schema, level by level, across the candidate methods."""
        path = word.lstrip("'")[2:].split(".")  # after "$."
        properties: dict[str, t.Mapping[str, t.Any]] = {}
        for method in self._plausible(shape):
            schema = (method.row_schema.get("properties") or {}).get(column) or {}
            for key in path[:-1]:
                schema = (schema.get("properties") or {}).get(key) or {}
            for key, value in (schema.get("properties") or {}).items():
                properties.setdefault(key, value)
        done = "".join(f"{key}." for key in path[:-1])
        for key in _match(list(properties), path[-1]):
            leaf = "properties" not in properties[key]
            text = f"'$.{done}{key}" + ("'" if leaf else "")
            yield Completion(text, -len(word), display=key, display_meta=_schema_type(properties[key]))

    def _registry(self, last: Token | None, word: str) -> t.Iterator[Completion]:
        """REGISTRY LIST | PULL, then a provider: those installed here (the remote list is the registry's to give)."""
        if last is None or last.upper == "REGISTRY":
            yield from _keywords(REGISTRY_ACTIONS, word, "keyword")
        elif last.upper in REGISTRY_ACTIONS:
            for name in _match(self.registry.provider_names, word):
                yield Completion(name, -len(word), display_meta="installed provider")

    def _show_columns(self, tokens: list[Token], document: Document, word: str) -> t.Iterator[Completion]:
        """The columns of what a SHOW lists, from that SHOW itself (answered from the manifests, no HTTP)."""
        from cfql.errors import Error
        from cfql.plan.planner import plan_sql
        from cfql.plan.plans import StaticPlan

        start = tokens[1].start if tokens[0].upper == "EXPLAIN" else tokens[0].start
        where = next(tok for tok in tokens if tok.upper == "WHERE")
        try:
            plan = plan_sql(document.text_before_cursor[start : where.start], self.registry)
        except Error:
            return
        columns = plan.produce().columns if isinstance(plan, StaticPlan) else []
        for name in _match(columns, word):
            yield Completion(name, -len(word), display_meta="column")

    def _variables_named(self, word: str) -> t.Iterator[Completion]:
        """``:`` + the session variables starting with ``word``; the value shown is the literal, not a secret."""
        for name in _match(sorted(self._variables()), word):
            yield Completion(name, -len(word), display=":" + name, display_meta="variable")

    # -- backslash commands -----------------------------------------------------------------

    def _meta(self, text: str, event: CompleteEvent) -> t.Iterator[Completion]:
        from cfql.shell.meta import COMMANDS

        name, _, argument = text.partition(" ")
        if not _:
            for command in COMMANDS:
                for alias in _match(command.names, name):
                    yield Completion(alias, -len(name), display_meta=command.help)
            return
        argument = argument.lstrip()
        if name in ("\\o", "\\output"):
            yield from (Completion(f, -len(argument)) for f in _match(FORMATS, argument))
        elif name == "\\timing":
            yield from (Completion(v, -len(argument)) for v in _match(("on", "off"), argument))
        elif name == "\\x":
            yield from (Completion(v, -len(argument)) for v in _match(("on", "off", "auto"), argument))
        elif name in ("\\set", "\\unset") and (name == "\\unset" or " " not in argument):
            word = argument.rsplit(" ", 1)[-1]
            yield from (Completion(v, -len(word), display_meta="variable") for v in _match(sorted(self._variables()), word))
        elif name == "\\i":
            yield from self._paths.get_completions(Document(argument, len(argument)), event)


def _default_registry() -> Registry:
    from cfql.provider.registry import default_registry

    return default_registry()


def _variable_at(tokens: list[Token], cursor: int) -> str | None:
    """The variable name being typed after ``:`` at the cursor (``""`` right after the colon), else None."""
    if tokens and tokens[-1].is_op(":") and tokens[-1].end == cursor:
        return ""
    if len(tokens) >= 2 and tokens[-1].kind == "name" and tokens[-1].end == cursor:
        colon = tokens[-2]
        if colon.is_op(":") and colon.end == tokens[-1].start:
            return tokens[-1].text
    return None


def _is_partial(token: Token, cursor: int) -> bool:
    """The token under the cursor is being typed (a name, @param, or an open string)."""
    if token.end != cursor:
        return False
    return token.kind in ("name", "param") or (token.kind == "string" and not token.closed)


T = t.TypeVar("T")


def _match(items: t.Iterable[T], word: str, key: t.Callable[[T], str] = str, substring: bool = False) -> list[T]:
    """Items whose key starts with ``word`` (case-insensitive), then — if asked — those containing it."""
    lowered = word.lower()
    items = list(items)
    prefixed = [i for i in items if key(i).lower().startswith(lowered)]
    if not substring or not lowered:
        return prefixed
    return prefixed + [i for i in items if lowered in key(i).lower() and i not in prefixed]


def _keywords(words: t.Iterable[str], word: str, meta: str) -> t.Iterator[Completion]:
    """Keywords in the case the user types them (``sel`` → ``select``)."""
    lower = bool(word) and word == word.lower()
    for keyword in _match(words, word):
        yield Completion(keyword.lower() if lower and keyword.isupper() else keyword, -len(word), display_meta=meta)


def _next_keywords(shape: Shape) -> tuple[str, ...]:
    last = shape.last.upper if shape.last is not None else ""
    if shape.verb == "show":
        if last == "SHOW":
            return ("EXTENDED", *SHOW_KINDS)
        if last == "EXTENDED":
            return tuple(kind for kind in SHOW_KINDS if kind != "VERSION")
        if shape.kind == "VERSION":
            return ()
        if shape.kind == "INSERT":
            return ("INTO",) if last == "INSERT" else ("/*+ REQUIRED */",) if shape.clause in ("target", "after_columns") else ()
        if shape.clause in ("like", "where"):
            return ()
        return ("IN", "LIKE", "WHERE") if last in ("SERVICES", "RESOURCES", "METHODS") else ("LIKE", "WHERE")
    return _NEXT.get((shape.verb or "", shape.clause or "")) or _NEXT_BY_CLAUSE.get(shape.clause or "", ())


def _describe_keywords(shape: Shape, last: str) -> tuple[str, ...]:
    """DESCRIBE [EXTENDED] [METHOD [EXTENDED]]: the words that may still come before the name."""
    if shape.kind == "METHOD":
        return ("EXTENDED",) if last == "METHOD" else ()
    return ("EXTENDED", "METHOD") if last in ("DESCRIBE", "DESC") else ("METHOD",) if last == "EXTENDED" else ()


def _listed_after(tokens: list[Token], keyword: str) -> set[str]:
    """Column names already in the list that ``keyword`` (SELECT, RETURNING) opens."""
    starts = [i for i, tok in enumerate(tokens) if tok.upper == keyword]
    return {tok.text for tok in tokens[starts[-1] + 1 :] if tok.kind == "name"} if starts else set()


def _json_extract_column(tokens: list[Token]) -> str | None:
    """``json_extract ( column ,`` just before the cursor → column."""
    if (
        len(tokens) >= 4
        and tokens[-1].is_op(",")
        and tokens[-2].kind == "name"
        and tokens[-3].is_op("(")
        and tokens[-4].text.lower() == _JSON_EXTRACT
    ):
        return tokens[-2].text
    return None


def _provider_services(registry: Registry, name: str) -> list[Service]:
    provider = registry.provider(name)
    return list(provider.services.values()) if provider is not None else []


def _offers(resource: Resource, verb: str | None) -> bool:
    return bool(resource.methods_for(verb)) if verb else bool(resource.methods)


def _required_rank(name: str, methods: t.Sequence[Method]) -> int:
    """0: every method requires it, 1: some do, 2: none."""
    required = sum(1 for m in methods if name in m.fields and m.fields[name].required)
    return 0 if methods and required == len(methods) else 1 if required else 2


def _first_required_index(name: str, methods: t.Sequence[Method]) -> int:
    """Keep the manifest's order of required names (path, then query, then body)."""
    for method in methods:
        if name in method.required_names:
            return method.required_names.index(name)
    return 0


def _field_meta(name: str, methods: t.Sequence[Method]) -> str:
    holders = [m for m in methods if name in m.fields]
    required = [m.name for m in holders if m.fields[name].required]
    if required and len(required) == len(methods):
        tag = "required"
    elif required:
        tag = "required by " + ", ".join(required)
    else:
        tag = ""
    kind = holders[0].fields[name].type_name if holders else "any"
    return f"{tag} · {kind}" if tag else kind


def _schema_type(schema: t.Mapping[str, t.Any]) -> str:
    if "type" in schema:
        return str(schema["type"])
    return "object" if "properties" in schema or "anyOf" in schema else "any"

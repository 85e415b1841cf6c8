"""The bottom toolbar: which method the statement being typed would call, and what it still lacks.

It answers the question the resolver would otherwise answer only after Enter
(``→ add_participant · missing: preset_name``), computed on each redraw from
the manifests with no HTTP call. A statement being typed is read leniently
(``context``) and its candidates judged by the resolver's rules; once it is
submitted (ends with ``;``), or reads as one a method fits, it goes through
the engine's own parser and planner, so the toolbar says what running it
would: the method, the planner's refusal, or — when no method fits — the
candidate of the resolver's own judgement (the one EXPLAIN lists) that comes
closest, and what it lacks. While ``EXPLAIN statement`` is typed, the
statement's status shows, after ``EXPLAIN ·``. It must never raise into the
UI, so any failure shows nothing.

A misspelt name gets a did-you-mean (``difflib.get_close_matches``) at every
level: provider, service, resource (also while it is still being typed, then
as a hint rather than an error), EXEC method, a column or parameter the
methods do not accept, and a ``:name`` no session variable has.
"""

from __future__ import annotations

import itertools
import typing as t

from cfql.plan.schema import closest
from cfql.shell import context

if t.TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from cfql.provider.registry import Registry

IDLE_HINT = "a statement runs once it ends with ;  ·  \\help for help  ·  Ctrl-D quits"
_SYNTAX = {
    "select": "SELECT cols FROM provider.service.resource WHERE param = value",
    "insert": "INSERT INTO provider.service.resource (col, ...) SELECT value, ... [RETURNING ...]",
    "update": "UPDATE provider.service.resource SET field = value WHERE param = value",
    "replace": "REPLACE provider.service.resource SET field = value WHERE param = value",
    "delete": "DELETE FROM provider.service.resource WHERE param = value",
    "exec": "EXEC provider.service.resource.method @param = value, ...",
    "show": "SHOW [EXTENDED] PROVIDERS | SERVICES IN p | RESOURCES IN p.s | METHODS IN p.s.r | INSERT INTO p.s.r | VERSION",
    "show INSERT": "SHOW [EXTENDED] INSERT INTO provider.service.resource [(col, ...)] [/*+ REQUIRED */]: an INSERT to fill in",
    "show VERSION": "SHOW VERSION: which cfql this is",
    "show filter": "SHOW [EXTENDED] ... [LIKE 'pattern%' | WHERE column = value]",
    "describe": "DESCRIBE [EXTENDED] provider.service.resource  ·  DESCRIBE [EXTENDED] METHOD p.s.r.method",
    "describe METHOD": "DESCRIBE [EXTENDED] METHOD provider.service.resource.method: its inputs and outputs",
    "explain": "EXPLAIN statement: the method, values and requests it would use, sending nothing",
    "registry": "REGISTRY LIST [provider]  ·  REGISTRY PULL provider [version]",
}
STATEMENTS_HINT = "statements: SELECT, INSERT, UPDATE, REPLACE, DELETE, EXEC, SHOW, DESCRIBE, EXPLAIN, REGISTRY"
# Style classes of the message, for the shell's style sheet.
OK, MISSING, ERROR, HINT = "ok", "missing", "error", "hint"


def describe(text: str, registry: Registry, variables: t.Collection[str] | None = None) -> tuple[str, str]:
    """``(kind, message)`` for the last statement in ``text``; ``("", "")`` when there is nothing to say.

    ``variables``: the session's variable names, to check the ``:names`` a
    statement uses (None: not checked).
    """
    try:
        return _describe(text, registry, variables)
    except Exception:  # the toolbar is advisory: a bug here must never break typing
        return "", ""


def _describe(text: str, registry: Registry, variables: t.Collection[str] | None) -> tuple[str, str]:
    stripped = text.strip()
    if not stripped:
        return HINT, IDLE_HINT
    if stripped.startswith("\\"):
        return _meta_hint(stripped)
    statements = [s for s in context.split(context.tokenize(text)) if s]
    if not statements:
        return "", ""
    tokens = statements[-1]
    if tokens[0].upper != "EXPLAIN":
        return _status(text, tokens, registry, variables, statements[:-1])
    if len(tokens) == 1:
        return HINT, _SYNTAX["explain"]
    if tokens[1].upper == "EXPLAIN":  # refused by the parser, which says so at once (and stops there)
        return ERROR, _parse(text[tokens[0].start : tokens[-1].end])[1]
    kind, message = _status(text, tokens, registry, None, ())  # an EXPLAIN's :names need no value
    if kind == HINT and message == STATEMENTS_HINT:
        return HINT, _SYNTAX["explain"]
    return kind, f"EXPLAIN · {message}" if message else ""


def _status(
    text: str,
    tokens: list[context.Token],
    registry: Registry,
    variables: t.Collection[str] | None,
    earlier: t.Sequence[t.Sequence[context.Token]],
) -> tuple[str, str]:
    """The status of the statement ``tokens`` (an ``EXPLAIN statement`` reads as the statement, but is
    parsed whole, so that a syntax error's column is the one running it gives)."""
    sql = text[tokens[0].start : tokens[-1].end]
    shape = context.scan(tokens)
    if shape.verb == "?":
        return HINT, STATEMENTS_HINT
    submitted = text.strip().endswith(";")
    node, syntax_error = _parse(sql)
    if shape.verb in ("show", "describe", "registry"):
        if node is None:
            return (ERROR, syntax_error) if submitted else _statement_hint(shape, registry)
        return _plan(node, sql, registry)
    if node is None and submitted:
        return ERROR, syntax_error
    resource = context.find_resource(registry, shape.target)
    if resource is None:
        still_typing = tokens[-1].end == len(text) and tokens[-1].text == ".".join(shape.target)
        if len(shape.target) == 3 and not still_typing:
            return ERROR, _unknown_resource(registry, shape.target)
        misspelt = _misspelt(registry, shape.target, still_typing)
        if misspelt is not None:
            return misspelt
        return HINT, _SYNTAX.get(shape.verb or "", "")
    status = _best_candidate(resource, shape, context.judged(resource, shape))
    # The parser reads a trailing ``IN`` as an empty list; while typing, the list is still to come.
    list_to_come = not submitted and tokens[-1].upper == "IN"
    if node is not None and not list_to_come and (submitted or status[0] == OK):
        status = _plan(node, sql, registry, (resource, shape))  # the planner's own judgement and checks
    if status[0] == OK and variables is not None:
        names = _earlier_names(earlier)
        return (_unbound(tokens, {*variables, *names}) if names is not None else None) or status
    return status


def _statement_hint(shape: context.Shape, registry: Registry) -> tuple[str, str]:
    """An unfinished SHOW, DESCRIBE or REGISTRY: its syntax; SHOW INSERT INTO's column list as INSERT's."""
    verb = shape.verb or ""
    if shape.resolves == "insert" and shape.columns:
        resource = context.find_resource(registry, shape.target)
        if resource is not None:
            return _best_candidate(resource, shape, context.judged(resource, shape))
    if verb == "show" and shape.clause in ("like", "where"):
        return HINT, _SYNTAX["show filter"]
    return HINT, _SYNTAX.get(f"{verb} {shape.kind}", _SYNTAX[verb])


def _earlier_names(statements: t.Sequence[t.Sequence[context.Token]]) -> set[str] | None:
    """What the statements before the last may set (their ``AS`` names); None when a SELECT's columns could.
    An EXPLAIN sets nothing."""
    names: set[str] = set()
    for statement in statements:
        if statement and statement[0].upper == "EXPLAIN":  # it sends nothing, so it sets nothing
            continue
        if statement and statement[0].upper == "SELECT":
            return None
        names.update(token.text for before, token in itertools.pairwise(statement) if before.upper == "AS")
    return names


def _misspelt(registry: Registry, parts: t.Sequence[str], still_typing: bool) -> tuple[str, str] | None:
    """``unknown KIND NAME — did you mean X?`` for the first part of a dotted name that names nothing.

    A part followed by a dot is finished, so a wrong one is an error; the
    last part may still be being typed, so for it this is only a hint.
    """
    levels = ("provider", "service", "resource")
    known: t.Collection[str] = registry.provider_names
    provider = None
    for depth, name in enumerate(parts[:3]):
        last = depth == len(parts) - 1
        if name not in known:
            if not name:  # "provider." just typed: the next part is still to come
                return None
            guess = closest(name, known)
            if guess is None:
                return None if last and still_typing else (ERROR, f"unknown {levels[depth]} {name}")
            return (HINT if last and still_typing else ERROR), f"unknown {levels[depth]} {name} — did you mean {guess}?"
        if depth == 0:
            provider = registry.provider(name)
            known = provider.services if provider is not None else ()
        elif depth == 1 and provider is not None:
            known = provider.services[name].resources
    return None


def _unbound(tokens: t.Sequence[context.Token], variables: t.Collection[str]) -> tuple[str, str] | None:
    """A ``:name`` the statement uses that no session variable holds (it would fail when run)."""
    for before, token in itertools.pairwise(tokens):
        if before.is_op(":") and token.kind == "name" and before.end == token.start and token.text not in variables:
            guess = closest(token.text, variables)
            hint = f" — did you mean :{guess}?" if guess else " (\\set it, or RETURNING ... AS it)"
            return MISSING, f":{token.text} has no value{hint}"
    return None


def _parse(sql: str) -> tuple[t.Any, str]:
    """The parsed statement (for ``EXPLAIN statement``, the statement it explains), or the syntax error."""
    from cfql.errors import Error
    from cfql.sql.dialect import Explain, parse_statement

    try:
        node = parse_statement(sql)
    except Error as error:
        return None, str(error)
    return (node.this if isinstance(node, Explain) else node), ""


def _plan(
    node: t.Any, sql: str, registry: Registry, judged_for: tuple[t.Any, context.Shape] | None = None
) -> tuple[str, str]:
    """What the planner makes of a parsed statement: the method it calls, or where the answer comes from.

    ``judged_for`` (the resource and the typed statement's shape): when no
    method fits, show the candidate the resolver came closest with, and what
    it lacks, rather than the whole error.
    """
    from cfql.errors import Error, ResolutionError
    from cfql.plan.planner import plan_statement
    from cfql.provider.model import Method

    try:
        plan = plan_statement(node, sql, registry)
    except ResolutionError as error:
        if judged_for is not None and error.resolution is not None:
            return _best_candidate(judged_for[0], judged_for[1], error.resolution.candidates)
        return ERROR, str(error)
    except Error as error:
        return ERROR, str(error)
    method = getattr(plan, "method", None)  # call and SELECT plans have one; SHOW/DESCRIBE plans do not
    if isinstance(method, Method):
        return OK, f"→ {method.name} · {method.http_method} · ready"
    if getattr(plan, "dry_run", None) is not None:  # REGISTRY: fetched from the provider registry
        return OK, "→ the provider registry · no provider API call"
    return OK, "→ the manifests · no API call"


def _best_candidate(resource: t.Any, shape: context.Shape, candidates: t.Sequence[t.Any]) -> tuple[str, str]:
    """The resolver's pick among ``candidates`` (``cfql.plan.resolver.best``), and what it lacks."""
    from cfql.plan.resolver import best

    if not candidates:
        if shape.verb == "exec":
            guess = closest(shape.method or "", resource.methods)
            mean = f" — did you mean {guess}?" if guess else f"; methods: {', '.join(sorted(resource.methods))}"
            return ERROR, f"no method {shape.method!r} in {resource.id}{mean}"
        return ERROR, f"{(shape.resolves or '').upper()} is not supported by {resource.id}"
    chosen = best(candidates)
    parts = [f"→ {chosen.method.name}"]
    if chosen.missing:
        parts.append("missing: " + ", ".join(chosen.missing))
    if chosen.refused:
        parts.append("not accepted: " + ", ".join(_with_guess(name, chosen.method, shape) for name in chosen.refused))
    return (OK if chosen.fits else MISSING), " · ".join(parts)


def _with_guess(name: str, method: t.Any, shape: context.Shape) -> str:
    """A refused name, with the accepted name it is closest to: ``titel (did you mean title?)``;
    one the resolver already says where to put (``account_id (a parameter: put it in WHERE)``) stays as it is."""
    if " " in name:
        return name
    known = set(method.fields)
    if shape.verb == "select":  # SELECT filters on the row's columns too
        known |= set(method.row_schema.get("properties") or {})
    guess = closest(name, known - set(shape.supplied))
    return f"{name} (did you mean {guess}?)" if guess else name


def _unknown_resource(registry: Registry, parts: t.Sequence[str]) -> str:
    from cfql.errors import Error
    from cfql.plan.resolver import find_resource

    try:
        find_resource(registry, parts)
    except Error as error:
        return str(error)
    return f"unknown resource {'.'.join(parts)}"


def _meta_hint(text: str) -> tuple[str, str]:
    from cfql.shell.meta import find_command

    command = find_command(text.split()[0])
    if command is None:
        return HINT, "backslash commands: \\help lists them"
    return HINT, f"{command.usage} — {command.help}"


class Toolbar:
    """The ``bottom_toolbar`` callable: statement status on the left, shell state on the right."""

    def __init__(
        self,
        registry: t.Callable[[], Registry],
        flags: t.Callable[[], str],
        variables: t.Callable[[], t.Collection[str]] | None = None,
    ):
        self._registry = registry
        self._flags = flags
        self._variables = variables
        self._cache: tuple[tuple[str, frozenset[str] | None], tuple[str, str]] = (("\0", None), ("", ""))

    def __call__(self) -> StyleAndTextTuples:
        from prompt_toolkit.application import get_app

        app = get_app()
        return self.fragments(app.current_buffer.text, app.output.get_size().columns)

    def fragments(self, text: str, width: int) -> StyleAndTextTuples:
        """The bar for ``text`` in ``width`` columns; the status is cut, never the state."""
        names = frozenset(self._variables()) if self._variables is not None else None
        if self._cache[0] != (text, names):
            status = describe(text, self._registry(), names) if text.strip() else (HINT, IDLE_HINT)
            self._cache = ((text, names), status)
        kind, message = self._cache[1]
        flags = self._flags()
        room = max(0, width - len(flags) - 3)
        if len(message) > room:
            message = message[: max(0, room - 1)] + "…"
        return [
            (f"class:bottom-toolbar.{kind}" if kind else "class:bottom-toolbar", " " + message),
            ("class:bottom-toolbar", " " * max(1, width - len(message) - len(flags) - 2)),
            ("class:bottom-toolbar.flags", flags + " "),
        ]

"""Statement history on disk, private and without secrets.

The file (``$XDG_STATE_HOME/cfql/history``) is created with mode 0600 in a
0700 directory, since statements name accounts and meetings. Values of secret
fields — storage credentials, passwords, keys — are masked before a statement
is written, so recalling a statement never recalls its secret; the current
session's in-memory history keeps the text as typed, so Up-arrow still helps
fix a typo in it.

Which names are secret is the providers' data, not a list kept here: the field
names each provider declares (``x-cfql-config.secretFields`` in provider.yaml),
and every field or nested property the statement's target resource marks
secret in its schema. A name matches exactly (case aside), never as part of a
longer name.

Backslash commands are masked by what they take, not by name: every value of
``\\i FILE NAME=VALUE ...`` and of ``\\set NAME VALUE`` is stored as ``***``
whatever the name, because a variable's name does not say where its value
goes — ``\\i job.iql pw=...`` feeds a template, ``\\set pw ...`` a later
``password = :pw`` — so matching names would miss exactly the values people
type most. ``\\e SQL`` is masked as a statement, and the argument of a command
the shell does not know (a typo such as ``\\sett``) is dropped; the commands
that take no values (``\\output``, ``\\timing``, ``\\x``, ``\\unset`` ...) are
kept as typed. The session variables themselves are never written anywhere.
"""

from __future__ import annotations

import json
import os
import shlex
import typing as t
import weakref
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from cfql.shell import context

if t.TYPE_CHECKING:
    from cfql.provider.model import Resource
    from cfql.provider.registry import Registry

MASK = "***"
_MASKED = f"'{MASK}'"


# Backslash commands whose arguments hold no values, kept as typed.
_PLAIN_COMMANDS = frozenset({"\\help", "\\?", "\\output", "\\o", "\\timing", "\\sandbox", "\\x", "\\unset", "\\q"})


def redact_command(text: str, registry: Registry | None = None) -> str:
    """A backslash command as history stores it: the values it sets masked (see the module docstring)."""
    name, *rest = text.split(None, 1)
    argument = rest[0].strip() if rest else ""
    if not argument or name in _PLAIN_COMMANDS:
        return text.strip()
    if name == "\\e":
        return f"{name} {redact_for_history(argument, registry)}"
    if name == "\\set":
        variable = argument.split(None, 1)
        return f"{name} {variable[0]} {MASK}" if len(variable) > 1 else f"{name} {variable[0]}"
    if name == "\\i":
        try:
            words = shlex.split(argument)
        except ValueError:
            return f"{name} {MASK}"
        if not words:
            return name
        masked = [f"{shlex.quote(word.partition('=')[0])}={MASK}" if "=" in word else shlex.quote(word) for word in words[1:]]
        return " ".join([name, shlex.quote(words[0]), *masked])
    return f"{name} {MASK}"


def is_secret_name(name: str, registry: Registry | None = None) -> bool:
    """Whether a variable called ``name`` holds a secret: it looks like one (TOKEN, KEY, PASSWORD ...), or a
    loaded provider declares it, or a schema the session used marks it."""
    from cfql.redact import looks_secret  # not the template sandbox: that would load Jinja to test a name

    if looks_secret(name):
        return True
    if registry is None:
        from cfql.provider.registry import default_registry

        registry = default_registry()
    return name.lower() in _Names.of(registry).everywhere()


def redact_for_history(sql: str, registry: Registry | None = None) -> str:
    """``sql`` with the literals that hold secrets replaced by ``'***'``.

    The rules are lexical, so they work on statements that do not parse: a
    literal given for a secret column or ``@param`` (by ``=``, or by position in
    INSERT ... SELECT/VALUES) is masked whole; in a JSON literal (e.g.
    ``recording_config`` with a ``storage_config``) the values under secret keys
    are masked and the rest is kept; a literal that looks like JSON but does not
    parse is masked whole if it mentions a secret name. Only the statement's own
    resource (and its provider) is consulted: a statement is stored once, when
    it is run, so reading it costs nothing anyone waits for.
    """
    if registry is None:
        from cfql.provider.registry import default_registry

        registry = default_registry()
    names = _Names.of(registry)
    tokens = context.tokenize(sql)
    replacements: dict[int, tuple[context.Token, str]] = {}
    for statement in context.split(tokens):
        shape = context.scan(statement)
        secret = names.for_target(shape.target)
        for name, token in shape.assignments:
            if token.kind in ("string", "number") and name.lower() in secret:
                replacements[token.start] = (token, _MASKED)
        for token in statement:
            if token.kind == "string" and token.start not in replacements:
                masked = _mask_literal(token, secret)
                if masked is not None:
                    replacements[token.start] = (token, masked)
    out, position = [], 0
    for start in sorted(replacements):
        token, text = replacements[start]
        out += [sql[position:start], text]
        position = token.end
    out.append(sql[position:])
    return "".join(out)


def _mask_literal(token: context.Token, secret: frozenset[str]) -> str | None:
    """The literal with its JSON secrets masked, or None when it holds none."""
    value = token.value
    if not value.lstrip().startswith(("{", "[")):
        return None
    from cfql.sql.values import load_json  # depth-limited: a literal nested 100,000 deep is refused, not recursed into

    try:
        data = load_json(value)
    except ValueError:
        lowered = value.lower()
        return _MASKED if any(name in lowered for name in secret) else None
    masked = _mask(data, secret)
    if masked == data:
        return None
    closing = "'" if token.closed else ""
    return "'" + json.dumps(masked, ensure_ascii=False).replace("'", "''") + closing


def _mask(value: t.Any, secret: frozenset[str]) -> t.Any:
    if isinstance(value, dict):
        return {k: MASK if k.lower() in secret and v is not None else _mask(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secret) for v in value]
    return value


class _Names:
    """The secret names that apply to a statement's resource, worked out once per resource and registry."""

    _cache: weakref.WeakKeyDictionary[Registry, _Names] = weakref.WeakKeyDictionary()

    def __init__(self, registry: Registry):
        self.registry = registry
        self._by_resource: dict[str, frozenset[str]] = {}

    @classmethod
    def of(cls, registry: Registry) -> _Names:
        names = cls._cache.get(registry)
        if names is None:
            names = cls._cache[registry] = cls(registry)
        return names

    def for_target(self, target: t.Sequence[str]) -> frozenset[str]:
        """The provider's declared names and the resource's schema secrets; every provider's if it is unknown."""
        registry = self.registry
        if len(target) != 3 or registry.provider(target[0]) is None:
            return registry.secret_names(None)
        resource = registry.resource(*target)
        declared = registry.secret_names(target[0])
        return declared | self._schema_names(resource) if resource is not None else declared

    def everywhere(self) -> frozenset[str]:
        """The declared names of the providers loaded so far, the default ones, and the schema secrets of the resources used.

        Worked out from what the session has touched: with StackQL's whole
        registry present, building every resource would take minutes.
        """
        registry = self.registry
        names = set(registry.secret_names(None))
        for resource in registry.loaded_resources():
            names |= self._schema_names(resource)
        return frozenset(names)

    def _schema_names(self, resource: Resource) -> frozenset[str]:
        found = self._by_resource.get(resource.id)
        if found is None:
            from cfql.plan.schema import is_secret
            from cfql.redact import secret_paths

            names: set[str] = set()
            for method in resource.methods.values():
                for name, field in method.fields.items():
                    if is_secret(field.schema):
                        names.add(name.lower())
                    names.update(path[-1].lower() for path in secret_paths(field.schema))
            found = self._by_resource[resource.id] = frozenset(names)
        return found


class RedactingFileHistory(FileHistory):
    """A FileHistory whose file is private (0600) and never receives a secret value."""

    def __init__(self, path: Path, registry: t.Callable[[], Registry] | None = None):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(path, 0o600)  # an older file may have been created wider
        self._registry = registry
        super().__init__(str(path))

    def store_string(self, string: str) -> None:
        registry = self._registry() if self._registry is not None else None
        if string.lstrip().startswith("\\"):
            super().store_string(redact_command(string, registry))
        else:
            super().store_string(redact_for_history(string, registry))


def open_history(path: Path, registry: t.Callable[[], Registry] | None = None) -> tuple[History, str | None]:
    """The history file, or — if it cannot be created — memory only, with a warning saying why."""
    try:
        return RedactingFileHistory(path, registry), None
    except OSError as error:
        return InMemoryHistory(), f"history is not saved: cannot create {path}: {error.strerror}"

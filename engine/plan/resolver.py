"""Choosing the documented method a statement means — strictly, never silently.

A method matches when every required name is supplied and every supplied name
is one it accepts (in the right place: WHERE names must be parameters, SET
names body fields; a SELECT method may instead filter its rows on a WHERE name
that is one of their columns). Among matches, a SELECT method that takes every
WHERE name as a parameter comes before one that would filter some here; then
the one with the most required names wins, and on a tie the one the provider
document lists first (``best``). When nothing matches, the error says, for
each candidate, what is missing and what it does not accept, so the user can
fix the statement in one go.

Each candidate is judged once (``judge``, ``judge_select``, ``judge_exec``)
into a ``Candidate``; ``resolve`` picks among them and returns its judgement, a
``Resolution``, which the plan keeps (``CallPlan.resolution``) and a
``ResolutionError`` carries. EXPLAIN and the shell's toolbar show that
judgement, and ``preferred``/``beaten`` put the rule in words, so what they
say is the reasoning that made the choice.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from functools import cached_property

from cfql.errors import NotSupportedError, ProgrammingError, ResolutionError
from cfql.plan.schema import did_you_mean
from cfql.provider.model import Method, Provider, Resource, Service
from cfql.provider.loader import ProviderDocumentError
from cfql.provider.registry import Registry, RegistryError

SELECT_NOT_SUPPORTED = (
    "SELECT not supported for this resource, use SHOW METHODS to view available "
    "operations for the resource."
)


def find_provider(registry: Registry, name: str) -> Provider:
    try:
        provider = registry.provider(name)
    except (RegistryError, ProviderDocumentError) as error:
        raise ProgrammingError(str(error)) from None
    if provider is None:
        hint = did_you_mean(name, registry.provider_names) or f" (REGISTRY PULL {name} installs it from the registry)"
        raise ProgrammingError(f"unknown provider {name!r}{hint}")
    return provider


def find_service(registry: Registry, provider_name: str, name: str) -> Service:
    provider = find_provider(registry, provider_name)
    service = provider.services.get(name)
    if service is None:
        raise ProgrammingError(
            f"unknown service {provider_name}.{name}{did_you_mean(name, provider.services)}"
        )
    return service


def resources_of(service: Service, provider_name: str) -> t.Mapping[str, Resource]:
    """The service's resources; a service document cfql cannot read is one error naming it."""
    try:
        return service.resources
    except ProviderDocumentError as error:
        raise ProgrammingError(f"service {provider_name}.{service.name}: {error}") from None
    except (OSError, ValueError) as error:  # YAML or JSON that does not parse
        raise ProgrammingError(f"service {provider_name}.{service.name}: its document cannot be read ({str(error).splitlines()[0][:200]})") from None


def check_usable(method: Method) -> Method:
    """The chosen method, or its refusal with the reason cfql cannot drive it."""
    if method.unsupported:
        raise NotSupportedError(f"{method.resource_id}.{method.name} cannot be used: {method.unsupported}")
    return method


def find_resource(registry: Registry, parts: t.Sequence[str]) -> Resource:
    """Look up ``provider.service.resource``, with did-you-mean at whichever level fails."""
    if len(parts) != 3:
        raise ProgrammingError(
            f"{'.'.join(parts)}: name a resource as provider.service.resource (SHOW PROVIDERS lists the providers)"
        )
    service = find_service(registry, parts[0], parts[1])
    resources = resources_of(service, parts[0])
    resource = resources.get(parts[2])
    if resource is None:
        raise ProgrammingError(
            f"unknown resource {'.'.join(parts)}{did_you_mean(parts[2], resources)}"
        )
    return resource


@dataclass(frozen=True)
class Candidate:
    """One method a statement could mean, judged by the rule above: what it lacks and what it does not accept.

    EXPLAIN lists every candidate this way and the shell's toolbar shows the
    best one, so both say what the resolver would, in its words.
    """

    method: Method
    missing: tuple[str, ...]
    #: Names it does not accept, each with a hint when it only stands in the wrong place:
    #: ``account_id (a parameter: put it in WHERE)``.
    refused: tuple[str, ...]
    #: SELECT: the WHERE names it takes as no parameter but filters its rows on, here.
    local: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        """Whether it gets every name it requires and accepts every name given."""
        return not self.missing and not self.refused

    @property
    def shortfall(self) -> str:
        """What keeps it from being used: ``is missing preset_name and does not accept titel``, or
        ``cannot be used (why)`` for a method cfql cannot drive; "" when nothing does."""
        if self.method.unsupported:
            return f"cannot be used ({self.method.unsupported})"
        parts = []
        if self.missing:
            parts.append("is missing " + ", ".join(self.missing))
        if self.refused:
            parts.append("does not accept " + ", ".join(self.refused))
        return " and ".join(parts)

    @property
    def complaint(self) -> str:
        """Why it is not the method, as the resolver's errors say it: ``add_participant is missing preset_name``."""
        return f"{self.method.name} {self.shortfall}"


@dataclass(frozen=True)
class Resolution:
    """The resolver's judgement of a statement: every method its verb offers (EXEC: the one it names), judged."""

    verb: str  # select, insert, update, replace, delete or exec
    candidates: tuple[Candidate, ...]  # never empty

    @cached_property  # a frozen dataclass without slots: worked out on first use, then kept
    def pick(self) -> Candidate:
        """The chosen method when it fits; when none fits, the one that comes closest (``best``)."""
        return best(self.candidates)

    @property
    def resource_id(self) -> str:
        return self.candidates[0].method.resource_id


def judge(
    method: Method, params: t.Collection[str], body: t.Collection[str], anywhere: t.Collection[str] = ()
) -> Candidate:
    """``method`` against the names a statement supplies as parameters, as body fields, or as either (INSERT)."""
    supplied = [*params, *body, *anywhere]
    missing = tuple(n for n in method.required_names if n not in supplied)
    return Candidate(method, missing, tuple(_refused(method, params, body, anywhere)))


def judge_select(method: Method, names: t.Collection[str]) -> Candidate:
    """A SELECT candidate, given WHERE's ``name = value`` names: each is a parameter it sends, or a column
    of its rows filtered locally (``cfql.plan.select``); a name that is neither is not accepted."""
    columns = method.row_schema.get("properties") or {}
    local = tuple(n for n in names if n not in method.parameters and n in columns)
    found = judge(method, [n for n in names if n not in local], ())
    return Candidate(method, found.missing, found.refused, local)


def judge_exec(method: Method, supplied: t.Collection[str]) -> Candidate:
    """The method EXEC names, against the ``@names`` it is given: anything it has, in any place."""
    missing = tuple(n for n in method.required_names if n not in supplied)
    return Candidate(method, missing, tuple(n for n in supplied if n not in method.fields))


def best(candidates: t.Sequence[Candidate]) -> Candidate:
    """The resolver's pick: of the candidates that fit, a SELECT method that takes every WHERE name as a
    parameter before one that would filter some here, then the one requiring the most names, then the first
    the provider document lists; when none fits, the closest — fewest names refused, then fewest missing."""
    return min(candidates, key=_rank)


def _rank(candidate: Candidate) -> tuple[int, int, bool, int]:
    return (len(candidate.refused), len(candidate.missing), bool(candidate.local), -len(candidate.method.required_names))


def preferred(resolution: Resolution) -> str:
    """Why ``best`` picks the method it picks, among those that fit — the rule as it applied here."""
    chosen = resolution.pick
    fit = "it gets every name it requires and accepts every name given"
    others = [c for c in resolution.candidates if c.fits and c is not chosen]
    if not others:
        return f"the only {resolution.verb.upper()} method that fits: {fit}"
    also = f"{fit}, as {_listed(c.method.name for c in others)} {'does' if len(others) == 1 else 'do'}"
    runner_up = best(others)
    if runner_up.local and not chosen.local:
        return f"{also}, and it alone takes every WHERE name as a parameter (the others would filter some here)"
    among = " of those that take every WHERE name as a parameter" if not chosen.local and any(c.local for c in others) else ""
    required = len(chosen.method.required_names)
    if len(runner_up.method.required_names) < required:
        return f"{also}; it requires the most names{among} ({required})"
    tied = [c.method.name for c in others if _rank(c) == _rank(chosen)]
    return (
        f"{also}; it and {_listed(tied)} require the most names{among} ({required}), "
        "and it comes first in the provider document's order"
    )


def beaten(candidate: Candidate, chosen: Candidate) -> str:
    """Why ``candidate``, which fits too, is not ``best``'s pick ``chosen``: the first part of the rule that decides."""
    name, required = chosen.method.name, len(chosen.method.required_names)
    if candidate.local and not chosen.local:
        return (
            f"fits, but would filter {', '.join(candidate.local)} here; "
            f"{name} takes every WHERE name as a parameter"
        )
    own = len(candidate.method.required_names)
    if own < required:
        return f"fits, but requires {_names(own)}, and {name} requires {required}"
    return f"fits, but {name} requires as many names ({required}) and comes first in the provider document's order"


def _names(count: int) -> str:
    return f"{count} name" if count == 1 else f"{count} names"


def _listed(names: t.Iterable[str]) -> str:
    items = list(names)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def resolve(
    resource: Resource,
    verb: str,
    params: t.Collection[str] = (),
    body: t.Collection[str] = (),
    anywhere: t.Collection[str] = (),
    written: t.Iterable[tuple[str, t.Any]] = (),
) -> Resolution:
    """Judge every method ``verb`` offers against the names supplied as parameters (WHERE), as body fields
    (SET) or as either (INSERT's columns): the judgement when one fits (``Resolution.pick``), else a
    ResolutionError that carries it, and ``written`` — each name with a value the statement writes for it."""
    methods = resource.methods_for(verb)
    if not methods:
        if verb == "select":
            raise NotSupportedError(SELECT_NOT_SUPPORTED)
        raise NotSupportedError(f"{verb.upper()} is not supported by {resource.id}; use SHOW METHODS IN {resource.id}")
    if len(methods) == 1:
        check_usable(methods[0])  # the only method cfql cannot drive: its reason, not its (unknown) fields
    if verb == "select":
        candidates = tuple(judge_select(method, params) for method in methods)
    else:
        candidates = tuple(judge(method, params, body, anywhere) for method in methods)
    resolution = Resolution(verb, candidates)
    if resolution.pick.fits:
        check_usable(resolution.pick.method)
        return resolution
    supplied = [*params, *body, *anywhere]
    raise ResolutionError(
        f"no {verb.upper()} method of {resource.id} matches ({', '.join(supplied) or 'nothing supplied'}): "
        + "; ".join(c.complaint for c in candidates if not c.fits)
        + _hints(resource, supplied),
        resolution,
        written,
    )


def find_method(resource: Resource, name: str) -> Method:
    """The method ``name`` of ``resource`` (EXEC's, DESCRIBE METHOD's), whether cfql can drive it or not;
    an unknown name suggests the near one and lists the methods."""
    method = resource.methods.get(name)
    if method is None:
        raise ProgrammingError(
            f"unknown method {resource.id}.{name}{did_you_mean(name, resource.methods)}; "
            f"methods: {', '.join(sorted(resource.methods))}"
        )
    return method


def check_exec(method: Method, supplied: t.Collection[str], written: t.Iterable[tuple[str, t.Any]] = ()) -> Resolution:
    """EXEC names its method; only check that it gets what it needs and nothing else."""
    check_usable(method)
    found = judge_exec(method, supplied)
    resolution = Resolution("exec", (found,))
    if not found.fits:
        raise ResolutionError(
            f"EXEC {method.resource_id}.{method.name}: {found.complaint}" + _hints_for(method.fields, found.refused),
            resolution,
            written,
        )
    return resolution


def _refused(method: Method, params: t.Collection[str], body: t.Collection[str], anywhere: t.Collection[str]) -> list[str]:
    refused = []
    for name in params:
        if name not in method.parameters:
            refused.append(name + (" (a body field: put it in SET)" if name in method.body_fields else ""))
    for name in body:
        if name not in method.body_fields:
            refused.append(name + (" (a parameter: put it in WHERE)" if name in method.parameters else ""))
    refused.extend(n for n in anywhere if n not in method.fields)
    return refused


def _hints(resource: Resource, supplied: t.Collection[str]) -> str:
    known: set[str] = set()
    for method in resource.methods.values():
        known.update(method.fields)
    return _hints_for(known, [n for n in supplied if n not in known])


def _hints_for(known: t.Collection[str], unknown: t.Iterable[str]) -> str:
    hints = [f"{name!r}{did_you_mean(name.split(' ')[0], known)}" for name in unknown]
    hints = [h for h in hints if "did you mean" in h]
    return f" — {'; '.join(hints)}" if hints else ""

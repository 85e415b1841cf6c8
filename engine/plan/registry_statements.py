"""REGISTRY LIST and REGISTRY PULL: StackQL's remote provider registry, as statements.

They go to the registry's URL (``registry.hub_url``), never to a provider, and
carry nothing of a provider's credentials (``cfql.provider.hub`` uses a client
of its own). Their plans are StaticPlans: the driver has nothing to send, but
``produce`` fetches, so each carries a ``dry_run`` describing those fetches
instead; a dry run sends nothing. Names are checked when the statement is
planned, so a script with a bad one fails before anything runs.
"""

from __future__ import annotations

from cfql.plan.plans import StaticPlan
from cfql.provider import hub
from cfql.provider.registry import Registry
from cfql.result import Result
from cfql.sql.dialect import RegistryStatement

LIST_COLUMNS = ["provider", "version"]
PULL_COLUMNS = ["provider", "version", "path", "signature", "sha256"]


def plan_registry(node: RegistryStatement, sql: str, registry: Registry) -> StaticPlan:
    """The plan of a REGISTRY statement; the registry URL is read when it runs, so a changed ``hub_url`` counts."""
    action = node.this.name.upper()
    provider = _word(node, "provider")
    version = _word(node, "version")
    if provider is not None:
        hub.check_provider(provider)
    if version is not None:
        hub.check_version(version)
    if action == "LIST":
        return StaticPlan(
            sql,
            lambda: list_result(registry.hub_url, provider),
            dry_run=lambda: _described(sql, [hub.index_url(registry.hub_url)]),
        )
    assert provider is not None  # the parser requires it for PULL

    def fetches() -> list[str]:
        url = registry.hub_url
        return [hub.index_url(url), hub.archive_url(url, provider, version or ":latest")]

    return StaticPlan(
        sql, lambda: pull_result(registry, provider, version), max_rows=1, dry_run=lambda: _described(sql, fetches())
    )


def _word(node: RegistryStatement, key: str) -> str | None:
    value = node.args.get(key)
    return value.name if value is not None else None


def list_result(url: str, provider: str | None = None, timeout: float = hub.TIMEOUT) -> Result:
    """Without a provider, one row per provider with its latest version; with one, a row per version, oldest first."""
    if provider is not None:
        hub.check_provider(provider)
    index = hub.list_providers(url, timeout=timeout)
    if provider is None:
        rows = [{"provider": name, "version": hub.latest(versions)} for name, versions in index.items()]
    else:
        rows = [{"provider": provider, "version": v} for v in hub.versions_of(index, provider, url)]
    return Result(list(LIST_COLUMNS), rows)


def pull_result(
    registry: Registry, provider: str, version: str | None = None, url: str | None = None, timeout: float = hub.TIMEOUT
) -> Result:
    """Pull into the registry's pulled root, then let the registry look again, so this session sees the provider."""
    pulled = hub.pull(url or registry.hub_url, provider, version, into=registry.pulled_root, timeout=timeout)
    registry.refresh()
    row = {
        "provider": pulled.provider,
        "version": pulled.version,
        "path": str(pulled.path),
        "signature": hub.SIGNATURE,
        "sha256": pulled.sha256,
    }
    return Result(list(PULL_COLUMNS), [row])


def _described(sql: str, urls: list[str]) -> Result:
    """What a dry run shows: the GETs the statement would send (``:latest`` stands for a version the list decides)."""
    from cfql.http.core import DRY_RUN_COLUMNS

    rows = [{"method": "GET", "url": url, "headers": hub.headers(), "body": None} for url in urls]
    return Result(list(DRY_RUN_COLUMNS), rows, statement=sql, dry_run=True)

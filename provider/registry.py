"""The set of providers cfql knows, found in the manifests directory and loaded lazily.

Nothing is read until a name is looked up, and each document is read once per
process: a ``SHOW PROVIDERS`` never parses a service's OpenAPI document.
"""

from __future__ import annotations

import typing as t
from functools import cached_property
from pathlib import Path

from cfql.provider.loader import MANIFESTS_DIR, load_provider
from cfql.provider.model import Provider, Resource


class Registry:
    def __init__(self, manifests_dir: Path = MANIFESTS_DIR):
        self.manifests_dir = manifests_dir
        self._providers: dict[str, Provider] = {}

    @cached_property
    def provider_names(self) -> list[str]:
        return sorted(
            p.name for p in self.manifests_dir.iterdir() if (p / "provider.yaml").is_file()
        )

    def provider(self, name: str) -> Provider | None:
        if name not in self.provider_names:
            return None
        if name not in self._providers:
            self._providers[name] = load_provider(self.manifests_dir / name)
        return self._providers[name]

    def secret_names(self, provider: str | None = None) -> frozenset[str]:
        """Field names a provider declares secret (``x-cfql-config.secretFields``); all providers' for None."""
        names = [provider] if provider is not None else self.provider_names
        found: set[str] = set()
        for name in names:
            loaded = self.provider(name)
            if loaded is not None:
                found |= loaded.conventions.secret_names
        return frozenset(found)

    def credential_env_vars(self) -> frozenset[str]:
        """Environment variables any provider reads credentials from: every ``...envvar`` of its ``config.auth``.

        StackQL's manifests name them ``credentialsenvvar``, ``keyIDenvvar``,
        ``keyenvvar``, ``emailenvvar`` ..., in the block itself or in one of its
        ``alternatives``; templates must never be shown them.
        """
        found: set[str] = set()
        for name in self.provider_names:
            loaded = self.provider(name)
            if loaded is not None:
                found |= _env_vars_in(loaded.auth)
        return frozenset(found)

    def resource(self, provider: str, service: str, resource: str) -> Resource | None:
        found = self.provider(provider)
        svc = found.services.get(service) if found else None
        return svc.resources.get(resource) if svc else None


def _env_vars_in(auth: t.Any) -> set[str]:
    """The values of every key ending in ``envvar`` (any case) in an auth block, however nested."""
    found: set[str] = set()
    if isinstance(auth, t.Mapping):
        for key, value in auth.items():
            if isinstance(key, str) and key.lower().endswith("envvar") and isinstance(value, str) and value:
                found.add(value)
            else:
                found |= _env_vars_in(value)
    elif isinstance(auth, (list, tuple)):
        for item in auth:
            found |= _env_vars_in(item)
    return found


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry over the shipped manifests (shared so they are parsed once)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default

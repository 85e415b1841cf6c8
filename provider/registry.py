"""The providers cfql can use: found in registries in StackQL's layout, loaded lazily.

A registry is a folder ``<root>/src/<provider>/<version>/provider.yaml`` (with
its ``services/*.yaml``), exactly as github.com/stackql/stackql-provider-registry
keeps them. cfql reads two: the *documents* root (the shipped ``cfql/manifests``
unless ``--registry`` names another) and the *pulled* root, where ``REGISTRY
PULL`` installs providers (``<data dir>/registry``, or StackQL's
``localDocRoot``). A provider is named by its document's ``name``; when
several versions are present the latest wins unless one is pinned.

Nothing is read until a name is looked up, and each document is read once per
process: ``SHOW PROVIDERS`` reads provider documents, never a service's.
"""

from __future__ import annotations

import json
import os
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cfql.provider.loader import DEFAULT_SECRET_NAMES, MANIFESTS_DIR, load_provider
from cfql.provider.model import Provider, Resource

#: StackQL's public registry: ``<url>/dist/providers.yaml`` and ``<url>/dist/<provider>/<version>.tgz``.
DEFAULT_HUB = "https://registry.stackql.app/providers"


class RegistryError(ValueError):
    """A registry option or folder cfql cannot use; the message is one line naming it."""


def data_dir() -> Path:
    """Where cfql keeps what it downloads: ``$CFQL_DATA_DIR``, else ``$XDG_DATA_HOME/cfql``, else ~/.local/share/cfql."""
    explicit = os.environ.get("CFQL_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cfql"


def version_key(version: str) -> tuple[t.Any, ...]:
    """Order versions as StackQL writes them (``v0.1.10`` after ``v0.1.9``, ``v24.03.00206``): by their numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.\-]", version.lstrip("vV")))


@dataclass(frozen=True)
class Installed:
    """One provider version found on disk."""

    name: str  # the document's ``name``
    version: str
    document: Path  # its provider.yaml
    src_root: Path  # the ``src`` folder its services' ``$ref``s are relative to


class Registry:
    """Providers by name, from the documents root and the pulled root."""

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        pulled_root: Path | str | None = None,
        versions: t.Mapping[str, str] | None = None,
        hub_url: str | None = None,
    ):
        self.root = Path(root) if root is not None else MANIFESTS_DIR
        self.pulled_root = Path(pulled_root) if pulled_root is not None else data_dir() / "registry"
        self.versions = dict(versions or {})  # pinned versions by provider name
        self.hub_url = hub_url or os.environ.get("CFQL_REGISTRY_URL") or DEFAULT_HUB  # REGISTRY LIST/PULL's source
        self.generation = 0  # bumped by refresh(): plans made before it may name what is gone or miss what came
        self._installed: dict[str, list[Installed]] | None = None
        self._providers: dict[str, Provider] = {}

    @classmethod
    def from_option(cls, text: str, **more: t.Any) -> Registry:
        """The registry a ``--registry`` value names: a folder, a ``file://`` URL, or StackQL's JSON form.

        StackQL's form is ``{"url": ..., "localDocRoot": ..., "verifyConfig": ...}``: a
        ``file://`` url is read in place; an http(s) url is where ``REGISTRY PULL``
        downloads from; ``localDocRoot`` is where pulled providers live.
        """
        text = text.strip()
        if not text.startswith("{"):
            return cls(_folder(text), **more)
        try:
            config = json.loads(text)
        except ValueError as error:
            raise RegistryError(f"--registry is not valid JSON: {error}") from None
        unknown = sorted(set(config) - {"url", "localDocRoot", "verifyConfig", "useEmbedded"})
        if unknown:
            raise RegistryError(f"--registry JSON has unknown key {unknown[0]!r} (known: url, localDocRoot, verifyConfig, useEmbedded)")
        url, local = config.get("url"), config.get("localDocRoot")
        for key, value in (("url", url), ("localDocRoot", local)):
            if value is not None and not isinstance(value, str):
                raise RegistryError(f"--registry JSON: {key} must be a string")
        root = None
        if url and urlsplit(url).scheme in ("http", "https"):
            more.setdefault("hub_url", url.rstrip("/"))
        elif url:
            root = _folder(url)
        if local:
            more.setdefault("pulled_root", _folder(local))
            root = root or _folder(local)
        return cls(root, **more)

    # -- what is installed -----------------------------------------------------------------

    def refresh(self) -> None:
        """Forget what was found, so a provider pulled since is seen (loaded documents stay cached)."""
        self._installed = None
        self._providers.clear()
        self.generation += 1

    @property
    def installed(self) -> dict[str, list[Installed]]:
        """Every provider version in both roots, by provider name, oldest first."""
        if self._installed is None:
            found: dict[str, list[Installed]] = {}
            for item in self._found():
                found.setdefault(item.name, []).append(item)
            self._installed = found
        return self._installed

    def _found(self, only: str | None = None) -> list[Installed]:
        """The provider versions in both roots (in folders named ``only``, if given), oldest first."""
        items = [item for root in dict.fromkeys([self.root, self.pulled_root]) for item in _scan(root / "src", only)]
        return sorted(items, key=lambda item: version_key(item.version))

    @property
    def provider_names(self) -> list[str]:
        return sorted(self.installed)

    def _versions_of(self, name: str) -> list[Installed]:
        """``name``'s versions: from folders of that name when their documents agree, else from a full scan.

        A statement names one provider, so it need not open every other provider's document.
        """
        if self._installed is None:
            found = [item for item in self._found(only=name) if item.name == name]
            if found:
                return found
        return self.installed.get(name) or []

    def chosen(self, name: str) -> Installed | None:
        """The version of ``name`` statements use: the pinned one, else the latest."""
        items = self._versions_of(name)
        if not items:
            return None
        pinned = self.versions.get(name)
        if pinned is None:
            return items[-1]
        for item in items:
            if item.version == pinned:
                return item
        have = ", ".join(item.version for item in items)
        raise RegistryError(f"provider {name} has no version {pinned} here (found {have})")

    def provider(self, name: str) -> Provider | None:
        found = self._providers.get(name)
        if found is None:
            item = self.chosen(name)
            if item is None:
                return None
            found = self._providers[name] = load_provider(item.document, item.src_root, item.version)
        return found

    def resource(self, provider: str, service: str, resource: str) -> Resource | None:
        found = self.provider(provider)
        svc = found.services.get(service) if found else None
        return svc.resources.get(resource) if svc else None

    # -- what templates and messages must not show -------------------------------------------

    def secret_names(self, provider: str | None = None) -> frozenset[str]:
        """Field names a provider declares secret (``x-cfql-config.secretFields``).

        For None: the names of every provider this process has loaded (the
        names masked by default before any is) — never a reason to parse every
        provider present.
        """
        if provider is not None:
            loaded = self.provider(provider)
            return loaded.conventions.secret_names if loaded is not None else frozenset()
        providers = list(self._providers.values())
        if not providers:
            return DEFAULT_SECRET_NAMES
        return frozenset().union(*(loaded.conventions.secret_names for loaded in providers))

    def loaded_resources(self) -> t.Iterator[Resource]:
        """The resources this process has built so far (what a session has used), without building more."""
        for loaded in list(self._providers.values()):
            for service in loaded.services.values():
                if "resources" in vars(service):  # cached_property: read already
                    yield from service.resources.built()

    def credential_env_vars(self) -> frozenset[str]:
        """Environment variables any provider reads credentials from (its ``config.auth``): templates never see them.

        Every provider present is asked, loaded or not: a template could name any of them.
        """
        from cfql.provider.auth import credential_env_vars

        found: set[str] = set()
        for name in self.provider_names:
            loaded = self.provider(name)
            if loaded is not None:
                found |= credential_env_vars(loaded.auth)
        return frozenset(found)


def _folder(text: str) -> Path:
    """A folder from a path or a ``file://`` URL."""
    parts = urlsplit(text)
    if parts.scheme == "file":
        text = unquote(parts.path)
    elif parts.scheme in ("http", "https"):
        raise RegistryError(f"--registry {text}: a remote registry goes in StackQL's JSON form's url, or --registry-url")
    path = Path(text).expanduser()
    if not path.is_dir():
        raise RegistryError(f"--registry {text}: no such folder")
    return path


def _scan(src: Path, only: str | None = None) -> t.Iterator[Installed]:
    """``src/<folder>/<version>/provider.yaml`` documents (in the folder ``only`` if given), named by their ``name``."""
    try:
        folders = [src / only] if only is not None else sorted(Path(entry.path) for entry in os.scandir(src))
    except OSError:
        return
    for folder in folders:
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        for version in sorted(os.scandir(folder), key=lambda entry: entry.name):
            document = Path(version.path) / "provider.yaml"
            if version.name.startswith(".") or not document.is_file():
                continue  # a pull in progress keeps its files in a dot-folder
            yield Installed(_document_name(document, folder.name), version.name, document, src)


def _document_name(document: Path, folder: str) -> str:
    """The provider's ``name`` (``googleapis.com`` holds ``google``); the folder's when it has none.

    Read from the document's top-level ``name:`` line, so finding one
    provider does not parse every other provider's document.
    """
    try:
        with open(document, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                match = _NAME_LINE.match(line)
                if match:
                    return match.group(1).strip("'\"") or folder
    except OSError:
        pass
    return folder


_NAME_LINE = re.compile(r"name:\s*(\S+)\s*(?:#.*)?$")


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry (``$CFQL_REGISTRY`` or the shipped documents), shared so they are parsed once."""
    global _default
    if _default is None:
        option = os.environ.get("CFQL_REGISTRY")
        _default = Registry.from_option(option) if option else Registry()
    return _default

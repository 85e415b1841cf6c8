"""``cfql deploy init NAME``: a new stack folder, copied from the starter a provider ships.

Which starter is data: ``x-cfql-config.starter`` in a provider's document
names a ``package:folder``; the engine only copies it, writing the stack's
name into the manifest.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from cfql.deploy.manifest import MANIFEST_NAME
from cfql.errors import StackError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\Z")
NAME_MARK = "__STACK_NAME__"


def init(name: str, directory: str | Path = ".", provider: str | None = None) -> Path:
    """Write a starter stack into ``directory/name`` (which must not exist yet); return its path."""
    if not _NAME.match(name):
        raise StackError(f"stack name {name!r}: use letters, digits, - and _ (it names the folder)")
    target = Path(directory) / name
    if target.exists():
        raise StackError(f"{target}: already exists (init writes a new stack folder)")
    source = _starter(provider)
    files = _walk(source, ())
    target.mkdir(parents=True)
    for path, relative in files:
        destination = target.joinpath(*relative)
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        if relative == (MANIFEST_NAME,):
            text = text.replace(NAME_MARK, name)
        destination.write_text(text, encoding="utf-8")
    return target


def _starter(provider: str | None) -> resources.abc.Traversable:
    from cfql.provider.registry import default_registry

    registry = default_registry()
    offered = {}
    for name in registry.provider_names:
        document = registry.provider(name)
        if document is not None and document.conventions.starter:
            offered[name] = document.conventions.starter
    if provider is None and len(offered) == 1:
        provider = next(iter(offered))
    if provider not in offered:
        raise StackError(f"cfql deploy init: name a provider with a starter stack: {', '.join(sorted(offered)) or '(none)'}")
    package, _, folder = offered[provider].partition(":")
    return resources.files(package).joinpath(folder)


def _walk(folder: resources.abc.Traversable, prefix: tuple[str, ...]) -> list[tuple[resources.abc.Traversable, tuple[str, ...]]]:
    found = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.startswith((".", "__")):
            continue
        if item.is_dir():
            found += _walk(item, (*prefix, item.name))
        else:
            found.append((item, (*prefix, item.name)))
    return found

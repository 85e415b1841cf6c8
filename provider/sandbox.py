"""Sandboxes: a provider's local emulator, started in-process on a free loopback port.

Like SQLite for a database tool, a sandbox lets anyone try every statement
with no account and no network. Which emulator serves which provider is data:
``x-cfql-config.sandbox.start`` in provider.yaml names a ``module:function``
that starts one, and for documents cfql does not ship (StackQL's published
providers), the ``cfql.sandboxes`` entry point of the provider's name does.
This module only finds and starts it for a connection; the connection stops it.

An emulator implements part of its API: the routes it lists (``Sandbox.routes``)
are served, and any other method is refused up front, naming what it serves.
"""

from __future__ import annotations

import importlib
import re
import typing as t
from dataclasses import dataclass
from functools import lru_cache


@dataclass(eq=False)
class Sandbox:
    """A running emulator: where it listens, the token it accepts, and how to stop it."""

    url: str
    token: str
    stop: t.Callable[[], None]
    #: (HTTP method, path with each ``{variable}`` written ``{}``) the emulator implements; empty: all.
    routes: frozenset[tuple[str, str]] = frozenset()
    serves: str = ""  # what it implements, in words, for the refusal of anything else

    def implements(self, http_method: str, path_template: str) -> bool:
        return not self.routes or (http_method, route_shape(path_template)) in self.routes


_VARIABLE = re.compile(r"\{[^}]*\}")


@lru_cache(maxsize=1024)
def route_shape(path_template: str) -> str:
    """A documented path with each ``{variable}`` written ``{}``, as ``Sandbox.routes`` holds it (asked once per path)."""
    return _VARIABLE.sub("{}", path_template)


def sandbox_entry(provider: str, declared: str | None) -> str | None:
    """The ``module:function`` starting ``provider``'s sandbox: its document's, else an installed entry point."""
    if declared:
        return declared
    from importlib.metadata import entry_points

    for entry in entry_points(group="cfql.sandboxes"):
        if entry.name == provider:
            return entry.value
    return None


def entry_point(spec: str) -> t.Callable[..., t.Any]:
    """The function a provider document names as ``module:function``."""
    module_name, _, function_name = spec.partition(":")
    return t.cast(t.Callable[..., t.Any], getattr(importlib.import_module(module_name), function_name))


def start_sandbox(spec: str) -> Sandbox:
    """Start the sandbox ``module:function`` names (the function returns a running Sandbox)."""
    sandbox = entry_point(spec)()
    if not isinstance(sandbox, Sandbox):
        raise TypeError(f"{spec} returned {type(sandbox).__name__}, not a Sandbox")
    return sandbox

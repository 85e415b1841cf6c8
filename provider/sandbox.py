"""Sandboxes: a provider's local emulator, started in-process on a free loopback port.

Like SQLite for a database tool, a sandbox lets anyone try every statement
with no account and no network. Which emulator serves which provider is data
(``x-cfql-config.sandbox`` in provider.yaml names a ``module:function`` that
starts one); this module only starts it for a connection and stops it when
the connection closes.
"""

from __future__ import annotations

import importlib
import typing as t
from dataclasses import dataclass


@dataclass(eq=False)
class Sandbox:
    """A running emulator: where it listens, the token it accepts, and how to stop it."""

    url: str
    token: str
    stop: t.Callable[[], None]


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

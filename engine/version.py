"""cfql's installed version, read from the package metadata only when asked (it costs a cold start 3 ms)."""

from __future__ import annotations


def installed_version() -> str:
    """The version pip installed, or ``(source tree)`` when cfql runs from a checkout that is not installed."""
    from importlib import metadata

    try:
        return metadata.version("cfql")
    except metadata.PackageNotFoundError:
        return "(source tree)"

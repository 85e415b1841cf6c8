"""Writing a small provider for a test: the StackQL layout (``src/<provider>/v1``) under a temporary folder.

Tests that need what no shipped or fixture document has (a secret path parameter, a body field
declared secret by its SQL name, two methods that tie) write one here rather than in tests/data.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_provider(root: Path, provider: str, service: str, document: str, extra: str = "") -> Path:
    """``root`` as a registry holding ``provider`` with one ``service`` (``document``, an OpenAPI text that
    may be indented as a whole); ``extra``: lines added to provider.yaml (``x-cfql-config`` ...)."""
    folder = root / "src" / provider / "v1"
    (folder / "services").mkdir(parents=True)
    (folder / "provider.yaml").write_text(
        f"id: {provider}\nname: {provider}\nversion: v1\ntitle: {provider.title()}\nproviderServices:\n"
        f"  {service}:\n    id: {service}:v1\n    name: {service}\n    title: {service.title()}\n    version: v1\n"
        f"    preferred: true\n    service: {{$ref: {provider}/v1/services/{service}.yaml}}\n"
        f"config:\n  auth: {{type: bearer, credentialsenvvar: {provider.upper()}_TOKEN}}\n{extra}"
    )
    (folder / "services" / f"{service}.yaml").write_text(textwrap.dedent(document))
    return root

"""Cut the part the emulator tests need out of the full RealtimeKit OpenAPI document.

tests/emulator/test_emulator_schema.py validates every emulator response
against the reference OpenAPI document. The full document (about 480 kB, 39
paths) came from outside the repository; the tests need only the five
meetings/participants paths the emulator serves. This script keeps those path
items whole, plus every ``components`` entry reachable from them through
``$ref`` (and the security schemes they name), each copied verbatim, so that
validation gives the same answers as against the full document.

The tests never run this script; run it by hand to refresh the subset:

    python tests/data/extract_openapi_subset.py ../shared/reference/realtimekit-openapi.json \
        tests/data/realtimekit-openapi-emulated.json
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any

PREFIX = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
# The same suffixes as EMULATED in tests/emulator/test_emulator_schema.py.
EMULATED = (
    "",
    "/{meeting_id}",
    "/{meeting_id}/participants",
    "/{meeting_id}/participants/{participant_id}",
    "/{meeting_id}/participants/{participant_id}/token",
)
# The schema test also names this one directly (Checker.error).
EXTRA_REFS = ("#/components/schemas/realtimekitGenericErrorResponse",)


def refs_in(node: Any) -> set[str]:
    """Every ``$ref`` string anywhere inside ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            found |= refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs_in(value)
    return found


def component_of(ref: str) -> tuple[str, str]:
    """('schemas', 'Name') for '#/components/schemas/Name'; a ref into a component's inside keeps the component."""
    parts = ref.split("/")
    if len(parts) < 4 or parts[:2] != ["#", "components"]:
        raise SystemExit(f"unsupported $ref (only #/components/... is handled): {ref}")
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def security_names(node: Any) -> set[str]:
    """Names of the security schemes used by the operations of a path item."""
    names: set[str] = set()
    for operation in node.values():
        if isinstance(operation, dict):
            for requirement in operation.get("security", []):
                names |= set(requirement)
    return names


def subset(full: dict[str, Any], source: str) -> dict[str, Any]:
    paths = {PREFIX + suffix: full["paths"][PREFIX + suffix] for suffix in EMULATED}

    wanted: set[tuple[str, str]] = set()
    todo = [ref for item in paths.values() for ref in refs_in(item)] + list(EXTRA_REFS)
    while todo:
        key = component_of(todo.pop())
        if key in wanted:
            continue
        section, name = key
        wanted.add(key)
        todo.extend(refs_in(full["components"][section][name]))

    schemes = set().union(*(security_names(item) for item in paths.values()))
    schemes |= {name for requirement in full.get("security", []) for name in requirement}
    wanted |= {("securitySchemes", name) for name in schemes}

    # Keep the original order of sections and entries so refreshes diff cleanly.
    components = {
        section: {name: entry for name, entry in entries.items() if (section, name) in wanted}
        for section, entries in full["components"].items()
    }
    components = {section: entries for section, entries in components.items() if entries}

    out: dict[str, Any] = {"_source": source}
    out.update({key: value for key, value in full.items() if key not in ("paths", "components")})
    out["paths"] = paths
    out["components"] = components
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("full", type=Path, help="the full RealtimeKit OpenAPI document (JSON)")
    parser.add_argument("out", type=Path, help="where to write the subset (JSON)")
    parser.add_argument("--origin", default=None, help="how to name the full document in _source (default: its path)")
    args = parser.parse_args()

    full = json.loads(args.full.read_text(encoding="utf-8"))
    month = datetime.date.today().strftime("%Y-%m")
    origin = args.origin or str(args.full)
    source = (
        f"Cut by tests/data/extract_openapi_subset.py from {origin} (StackQL's extract of the Cloudflare API v4, "
        f"see info.description): the {len(EMULATED)} meetings/participants paths the emulator serves and the "
        f"components they reference, {month}."
    )
    doc = subset(full, source)
    args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = ", ".join(f"{len(v)} {k}" for k, v in doc["components"].items())
    print(f"wrote {args.out}: {len(doc['paths'])} paths, {counts}")


if __name__ == "__main__":
    main()

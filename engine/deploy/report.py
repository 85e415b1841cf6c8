"""What a deploy command says: the word for each resource's outcome, and the lines printed for it.

One line per resource (``meetings: created``), the queries ``--show-queries``
prints, and for plans and dry runs the statements and requests each step would
send. Protected exports and secrets are masked in every line (``masked``).
"""

from __future__ import annotations

import json
import typing as t

from cfql.deploy.outcomes import (
    ABSENT,
    APPLIED,
    KEPT,
    UNKNOWN,
    DeployResult,
    ResourceOutcome,
)

_EXPLAINED = {
    APPLIED: "applied (createorupdate: it has no exists query, so it runs on every build)",
    KEPT: "kept (it has no /*+ delete */ query)",
    ABSENT: "absent (nothing to delete)",
    UNKNOWN: "outcome unknown",
}


def line(outcome: ResourceOutcome, secrets: t.Collection[str] = (), rollback: bool = False) -> str:
    """``name: action`` and, for a failure, what failed (secrets masked)."""
    from cfql.redact import scrub

    words = _EXPLAINED.get(outcome.action, outcome.action)
    if outcome.writes and outcome.action != UNKNOWN:
        words += f" ({outcome.writes} write{'s' if outcome.writes != 1 else ''})"
    text = f"{'rollback: ' if rollback else ''}{outcome.name}: {words}"
    if outcome.note:
        text += f" ({outcome.note})"
    if outcome.error:
        text += f" - {outcome.error.removeprefix(outcome.name + ': ')}"
    return scrub(text, secrets)


def query_text(resource: str, query: t.Any, statement: t.Any, masked: t.Callable[[str], str]) -> str:
    """A query as ``--show-queries`` prints it before sending it: where it is written, then the statement."""
    from cfql.redact import redact_statement

    sql = redact_statement(statement.sql.strip(), statement.plan)
    return masked(f"-- {resource}: {query.anchor} ({query.source}:{statement.line})\n{sql};")


def steps_text(outcome: ResourceOutcome) -> list[str]:
    """A plan's or dry run's steps for one resource: each statement and the requests it would send first."""
    lines = []
    for step in outcome.steps:
        lines.append(f"  -- {step.anchor} ({step.where})")
        if step.note:
            lines.append(f"  {step.note}")
            continue
        lines += [f"  {text}" for text in step.sql.splitlines()]
        for request in step.requests:
            lines.append(f"    {request['method']} {request['url']}")
            if request.get("body") is not None:
                lines.append(f"    {json.dumps(request['body'], ensure_ascii=False, sort_keys=False)}")
    return lines


def summary(result: DeployResult) -> str:
    """``build of stack S (dev): 1 created, 1 unchanged``, counted per action in the order they first occur."""
    counts: dict[str, int] = {}
    for outcome in [*result.resources, *result.rolled_back]:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    parts = ", ".join(f"{count} {action}" for action, count in counts.items()) or "no resources"
    mode = "dry run of " if result.dry_run else ""
    text = f"{mode}{result.command} of stack {result.stack} ({result.stack_env}): {parts}"
    if result.command == "plan" and result.ok and not result.dry_run:
        text += "; changes pending" if result.changes_pending else "; no changes"
    return text

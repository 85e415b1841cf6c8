"""EXPLAIN: what a statement would do, worked out without sending anything."""

from __future__ import annotations

from cfql.errors import NotSupportedError
from cfql.plan.clauses import Source
from cfql.provider.registry import Registry
from cfql.sql.dialect import Explain


def plan_explain(node: Explain, sql: str, registry: Registry, source: Source):
    raise NotSupportedError("EXPLAIN is not supported yet")

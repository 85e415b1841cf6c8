"""Plans by statement text and by shape, so a repeated statement is parsed and resolved once."""

from __future__ import annotations

from collections import OrderedDict

from cfql.errors import ProgrammingError
from cfql.plan.planner import plan_sql
from cfql.plan.plans import CallPlan, Plan, enforce
from cfql.plan.shapes import ShapeCache
from cfql.provider.registry import Registry
from cfql.sql.dialect import Piece, tokenize

_PLAN_CACHE_SIZE = 512


class PlanCache:
    """Statement text → plan, plus plans by shape (see cfql/plan/shapes.py); LRU-bounded, one per connection.

    ``strict`` (``Settings.strict``): every document's enums and bounds bind (``cfql.plan.plans.enforce``).
    """

    def __init__(self, registry: Registry, size: int = _PLAN_CACHE_SIZE, strict: bool = False):
        self._registry = registry
        self._size = size
        self._strict = strict
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._shapes = ShapeCache()
        self._generation = registry.generation

    def get(self, sql: str, line_offset: int = 0, piece: Piece | None = None) -> Plan:
        """The plan for ``sql``; ``piece`` (from ``iter_statements``) carries its tokens already."""
        if self._generation != self._registry.generation:  # a REGISTRY PULL since: providers may have changed
            self._generation = self._registry.generation
            self._plans.clear()
            self._shapes = ShapeCache()
        plan = self._plans.get(sql)
        if plan is not None:
            self._plans.move_to_end(sql)
            return plan
        if piece is None:
            piece = Piece(sql, line_offset + 1, 0, sql, line_offset + 1, tokenize(sql))
        plan = self._shapes.lookup(sql, piece.tokens)
        if plan is None:
            try:
                plan = plan_sql(sql, self._registry, piece)
            except RecursionError:  # sqlglot and the planner recurse once per level of nesting
                raise ProgrammingError("statement nested too deeply (parentheses, NOT, or AND/OR chains); simplify it") from None
            if isinstance(plan, CallPlan):
                self._shapes.remember(plan, piece.tokens)
        if self._strict:
            plan = enforce(plan)
        self._plans[sql] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan

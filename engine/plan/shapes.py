"""Reusing a plan for statements that differ only in their literal values.

Loops and bulk scripts run the same statement with other values ('Standup 1',
'Standup 2', ...), and parsing is most of what a new statement costs. So plans
are also remembered by *shape*: the statement's tokens with its string and
number literals blanked out. The first statement of a shape is parsed and
planned as usual, and the planner notes which literal token became which
value (``BoundRow.sources``). A later statement of the same shape only has its
literals checked against the schema and put in their places.

Literals that are not plain values — a JSON path, an ``@@json`` body, a LIMIT,
a LIKE pattern, a local SELECT filter — never became a value, so their text
stays part of the key: such a statement is only reused when they are equal.
"""

from __future__ import annotations

import typing as t
from collections import OrderedDict
from dataclasses import dataclass, replace

from sqlglot.tokens import Token, TokenType

from cfql.plan.plans import BoundRow, CallPlan
from cfql.plan.schema import check
from cfql.sql.values import sql_number, sql_text

_LITERALS = (TokenType.STRING, TokenType.NUMBER)
Key = tuple[t.Any, ...]


@dataclass(frozen=True)
class _Slot:
    literal: int  # index among the statement's literal tokens
    row: int
    column: str
    negate: bool


@dataclass(frozen=True)
class _Shape:
    """How one shape's literals map onto a plan: value slots, and the literals that must match."""

    slots: tuple[_Slot, ...]
    fixed: tuple[int, ...]
    plans: OrderedDict[tuple[str, ...], CallPlan]


class ShapeCache:
    """Plans by shape, bounded like the text cache (least recently used shapes go first)."""

    def __init__(self, size: int = 256):
        self._size = size
        self._shapes: OrderedDict[Key, _Shape] = OrderedDict()

    def lookup(self, sql: str, tokens: t.Sequence[Token]) -> CallPlan | None:
        key, literals = _shape(tokens)
        shape = self._shapes.get(key)
        if shape is None:
            return None
        template = shape.plans.get(tuple(literals[i].text for i in shape.fixed))
        if template is None:
            return None
        self._shapes.move_to_end(key)
        return _instantiate(template, shape.slots, literals, sql)

    def remember(self, plan: CallPlan, tokens: t.Sequence[Token]) -> None:
        key, literals = _shape(tokens)
        by_start = {token.start: index for index, token in enumerate(literals)}
        slots = []
        for row_index, row in enumerate(plan.rows):
            for column, (start, negate) in row.sources.items():
                if start not in by_start:
                    return  # the tokens and the parse disagree: do not guess
                slots.append(_Slot(by_start[start], row_index, column, negate))
        used = {slot.literal for slot in slots}
        fixed = tuple(i for i in range(len(literals)) if i not in used)
        shape = self._shapes.get(key)
        if shape is None or shape.fixed != fixed:
            shape = _Shape(tuple(slots), fixed, OrderedDict())
            self._shapes[key] = shape
            if len(self._shapes) > self._size:
                self._shapes.popitem(last=False)
        shape.plans[tuple(literals[i].text for i in fixed)] = plan
        if len(shape.plans) > 16:  # a shape whose fixed literals keep changing gains nothing
            shape.plans.popitem(last=False)


def _shape(tokens: t.Sequence[Token]) -> tuple[Key, list[Token]]:
    key: list[t.Any] = []
    literals: list[Token] = []
    for token in tokens:
        if token.token_type in _LITERALS:
            literals.append(token)
            key.append(token.token_type)
        else:
            key.append((token.token_type, token.text))
    return tuple(key), literals


def _instantiate(template: CallPlan, slots: t.Sequence[_Slot], literals: t.Sequence[Token], sql: str) -> CallPlan:
    """The template with this statement's literal values, each checked as the planner would."""
    fields, names = template.method.fields, template.method.secret_names
    constants = [dict(row.constants) for row in template.rows]
    notes = [dict(row.notes) for row in template.rows]
    for slot in slots:
        token = literals[slot.literal]
        value: t.Any = sql_text(token.text, slot.column) if token.token_type == TokenType.STRING else sql_number(token.text, slot.column)
        if slot.negate:
            value = -value
        found: list[str] | None = [] if template.loose else None
        constants[slot.row][slot.column] = check(value, fields[slot.column].schema, slot.column, names, found)
        notes[slot.row].pop(slot.column, None)
        if found:
            notes[slot.row][slot.column] = tuple(found)
    rows = tuple(
        BoundRow(values, row.binds, row.sources, found) for values, found, row in zip(constants, notes, template.rows)
    )
    return replace(template, sql=sql, rows=rows)

"""Following pages, as the provider document says (sans-IO): given a page's answer, the next request.

The rule comes from the method's ``Pagination`` (StackQL's
``x-stackQL-config.pagination``, see ``cfql.provider.model``):

* a token: read from the body (a JSONPath) or a header, and sent back in the
  query or body under ``requestToken.key``;
* a next-page URL: the token is the whole address (``location: request``), or
  a ``Link`` header's ``rel="next"`` (``algorithm: RFC5988``);
* numbered pages (cfql's ``x-cfql-pageNumber``): the next page is one more,
  while the response's totals — or a full page — say more remain.

No page is requested twice: a token or URL seen before ends the walk.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import replace

from cfql.http.messages import ApiRequest, ApiResponse
from cfql.provider.model import PageNumbering, Pagination
from cfql.rows.jsonpath import find_first

_LINK = re.compile(r'<(?P<url>[^>]*)>\s*;(?P<params>[^,]*(?:,(?!\s*<)[^,]*)*)')


class Pager:
    """The pages of one SELECT: call ``next(request, response, items)`` after each page."""

    def __init__(self, spec: Pagination):
        self.spec = spec
        self._seen: set[str] = set()

    def next(self, request: ApiRequest, response: ApiResponse, items: int) -> ApiRequest | None:
        """The request for the page after this one, or None when this was the last."""
        spec = self.spec
        if spec.numbering is not None:
            return _next_number(spec.request_key, spec.numbering, request, response, items)
        token = self._token(response)
        if token is None or token in self._seen:
            return None
        self._seen.add(token)
        if spec.algorithm or spec.request_location == "request":
            return replace(request, url=token, query={})
        if spec.request_location == "body":
            return replace(request, body={**(request.body or {}), spec.request_key: token})
        if spec.request_location == "header":
            return replace(request, headers={**request.headers, spec.request_key: token})
        return replace(request, query={**request.query, spec.request_key: token})

    def _token(self, response: ApiResponse) -> str | None:
        spec = self.spec
        if spec.response_location == "header":
            value = _header(response.headers, spec.response_key or "Link")
            if value is not None and (spec.algorithm or "").upper() == "RFC5988":
                return next_link(value)
            return value or None
        found = find_first(response.payload, spec.response_key) if spec.response_key else None
        return None if found in (None, "") else str(found)


def _next_number(key: str, numbering: PageNumbering, request: ApiRequest, response: ApiResponse, items: int) -> ApiRequest | None:
    if not items:
        return None
    current = request.query.get(key, numbering.first)
    if not _more_numbered(numbering, request, response.payload, items, current):
        return None
    return replace(request, query={**request.query, key: current + 1})


def _more_numbered(numbering: PageNumbering, request: ApiRequest, payload: t.Any, items: int, current: t.Any) -> bool:
    """Whether pages remain after this one, by the first rule the response (or the request) allows."""
    if numbering.total_pages:
        total = find_first(payload, numbering.total_pages)
        page = find_first(payload, numbering.current_page) if numbering.current_page else current
        if _is_number(total) and _is_number(page):
            return page < total
    if numbering.total_items and numbering.last_index:
        total, last = find_first(payload, numbering.total_items), find_first(payload, numbering.last_index)
        if _is_number(total) and _is_number(last):
            return last + 1 < total
    size = request.query.get(numbering.size_key) if numbering.size_key else None
    if _is_number(size) and size > 0:
        return items >= size
    return True  # nothing says: ask for the next page; an empty one ends it


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of an RFC 5988 ``Link`` header, if there is one."""
    for match in _LINK.finditer(header):
        rels = re.findall(r'rel\s*=\s*"?([^";,]+)"?', match.group("params"))
        if any("next" in rel.split() for rel in rels):
            return match.group("url").strip()
    return None


def _header(headers: t.Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

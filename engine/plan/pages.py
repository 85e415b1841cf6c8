"""Following pages, as the provider document says (sans-IO): given a page's answer, the next requests.

The rule comes from the method's ``Pagination`` (StackQL's
``x-stackQL-config.pagination``, or inferred from the document; see
``cfql.provider.pagination``):

* a token: read from the body (a JSONPath) or a header, and sent back in the
  query, body or a header under ``requestToken.key``;
* a next-page URL: the token is the whole address (``location: request``), or
  a ``Link`` header's ``rel="next"`` (RFC 5988);
* numbered pages: the next page is one more, while the response's totals — or
  a full page — say more remain.

A token or a URL is known only once the page before it has come, so those
pages are read one after another. Numbered pages whose totals say how many
remain are asked for as a batch — up to ``PAGES_AT_ONCE`` pages, and no more
than LIMIT can use — which the driver sends at once (see
``cfql.http.core.DriverCore.statement``). No page is requested twice: a token
or URL seen before ends the walk, and so does a numbered page that repeats the
one before it (an API ignoring the page number it documents).
"""

from __future__ import annotations

import math
import re
import typing as t
from dataclasses import replace

from cfql.http.messages import ApiRequest, ApiResponse
from cfql.provider.model import PageNumbering, Pagination
from cfql.rows.jsonpath import find_first

#: Most pages asked for in one batch: a few at once is most of the gain, and stays within an API's burst.
PAGES_AT_ONCE = 4

_LINK = re.compile(r'<(?P<url>[^>]*)>\s*;(?P<params>[^,]*(?:,(?!\s*<)[^,]*)*)')


class Pager:
    """The pages of one SELECT: after each batch, ``following(...)`` with its last page gives the next batch."""

    def __init__(self, spec: Pagination, at_once: int = PAGES_AT_ONCE):
        self.spec = spec
        self.at_once = max(1, at_once)
        self._seen: set[str] = set()
        self._page_size: int | None = None  # items on a full page, learned from the first page when no one says
        self._last_page: t.Any = None  # the last numbered page read (its decoded JSON)

    def following(self, request: ApiRequest, response: ApiResponse, items: int, rows_wanted: int | None = None) -> list[ApiRequest]:
        """The requests for the pages after this one (the last one asked for): empty when it was the last.

        ``items`` is how many objects this page held; ``rows_wanted``, when
        LIMIT bounds the read, how many more rows the statement can use — no
        more pages are asked for than those could fill.
        """
        if self.spec.numbering is not None:
            return self._numbered(self.spec.numbering, request, response, items, rows_wanted)
        following = self._next_by_token(request, response)
        return [] if following is None else [following]

    # -- tokens and next-page URLs -----------------------------------------------------------

    def _next_by_token(self, request: ApiRequest, response: ApiResponse) -> ApiRequest | None:
        spec = self.spec
        token = self._token(response)
        if token is None or token in self._seen:
            return None
        self._seen.add(token)
        if spec.request_location == "request":
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
            if not value:
                return None
            if spec.algorithm == "RFC5988" or _looks_like_link(value):
                return next_link(value)
            return value
        found = find_first(response.payload, spec.response_key) if spec.response_key else None
        # Only text or a whole number is a token: "", false, [] or {} mean "no more pages".
        if isinstance(found, bool) or not isinstance(found, (str, int)) or found == "":
            return None
        return str(found)

    # -- numbered pages ----------------------------------------------------------------------

    def _numbered(
        self, numbering: PageNumbering, request: ApiRequest, response: ApiResponse, items: int, rows_wanted: int | None
    ) -> list[ApiRequest]:
        if not items:
            return []  # an empty page is past the end, whatever a total says
        payload = response.payload
        if payload == self._last_page:
            return []  # the same page again: the API does not take the page number it documents
        self._last_page = payload
        key = self.spec.request_key
        current = _whole(find_first(payload, numbering.current_page)) if numbering.current_page else None
        if current is None:
            current = _whole(request.query.get(key, numbering.first))
        if current is None:
            return []
        reported = _whole(find_first(payload, numbering.page_size)) if numbering.page_size else None
        if self._page_size is None:
            self._page_size = reported or items  # the first page is a full one unless it is the last
        full_page = reported or self._page_size
        remaining = _remaining(numbering, payload, current, full_page, items)
        if remaining is None:  # nothing tells how many: one more, unless this page was short
            asked = _whole(request.query.get(numbering.size_key)) if numbering.size_key else None
            count = 0 if asked is not None and items < asked else 1
        else:
            count = min(remaining, self.at_once)
        if count > 0 and rows_wanted is not None:
            count = min(count, max(1, math.ceil(rows_wanted / full_page)))
        return [replace(request, query={**request.query, key: current + step}) for step in range(1, count + 1)]


def _remaining(numbering: PageNumbering, payload: t.Any, current: int, full_page: int, items: int) -> int | None:
    """How many pages come after ``current``, by the first total the response gives; None when it gives none."""
    if numbering.total_pages:
        total = _whole(find_first(payload, numbering.total_pages))
        if total is not None:
            return max(0, numbering.first + total - 1 - current)
    if numbering.total_items:
        total = _whole(find_first(payload, numbering.total_items))
        if total is not None:
            last = _whole(find_first(payload, numbering.last_index)) if numbering.last_index else None
            read = last + 1 if last is not None else (current - numbering.first) * full_page + items
            return max(0, math.ceil((total - read) / full_page))
    return None


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of an RFC 5988 ``Link`` header, if there is one."""
    for match in _LINK.finditer(header):
        rels = re.findall(r'rel\s*=\s*"?([^";,]+)"?', match.group("params"))
        if any("next" in rel.split() for rel in rels):
            return match.group("url").strip() or None
    return None


def _looks_like_link(value: str) -> bool:
    """A header in the ``<url>; rel="next"`` form, whatever its name (StackQL reads any header token so)."""
    return value.lstrip().startswith("<") and "rel" in value


def _header(headers: t.Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _whole(value: t.Any) -> int | None:
    """A whole number from JSON (``3`` or ``3.0``, or ``"3"`` as some APIs send totals), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None

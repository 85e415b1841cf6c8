"""Pagination over loopback HTTP, in every scheme a document declares and those cfql infers.

``tests/data/paging_providers/src/pager/v1`` lists the same 23 items behind
one method per scheme; ``Pages`` serves them from a ``tests.loopback`` server on
127.0.0.1, which records each request and how many were in flight at once. When a
page says how many remain, the rest are asked for as one batch and sent
concurrently; otherwise pages go one after another. Rows always come out in
page order.
"""

from __future__ import annotations

import asyncio
import threading
import typing as t
from pathlib import Path

import pytest

from cfql import APIError, Connection, Settings
from cfql.aio import AsyncConnection
from cfql.provider.registry import Registry
from tests.loopback import LoopbackServer, Reply, Seen

PROVIDERS = Path(__file__).resolve().parents[1] / "data" / "paging_providers"
N_ITEMS = 23
DEFAULT_SIZE = 5
ITEMS = [{"id": f"i{n:02d}", "n": n, "kind": "odd" if n % 2 else "even"} for n in range(1, N_ITEMS + 1)]
IDS = [item["id"] for item in ITEMS]
#: How long a page waits for company before it is answered anyway (only while ``Pages.gather`` is set).
RENDEZVOUS_SECONDS = 10.0


class Pages(LoopbackServer):
    """The API: one route per scheme, over ``ITEMS``; the server records requests and the most in flight at once."""

    def __init__(self) -> None:
        super().__init__(self.serve)
        self.api = self.url + "/v1"
        self.gather = 0  # > 1: a page past the first waits until this many such pages have come (or the rendezvous times out)
        self._later_pages = 0
        self.fail_page: int | None = None  # a numbered page answered with HTTP 500
        self._rendezvous = threading.Condition()

    def paths(self, path: str) -> list[dict[str, str]]:
        """The query of each request made to ``path``, in arrival order."""
        return [seen.params for seen in self.seen if seen.path == path]

    def serve(self, seen: Seen) -> Reply:
        query = seen.params
        number = next((int(query[k]) for k in ("page", "page_no") if k in query), 1)
        if self.gather > 1 and number > 1:
            # A sequential client never sends the second while the first waits: it stays at one in flight.
            with self._rendezvous:
                self._later_pages += 1
                self._rendezvous.notify_all()
                self._rendezvous.wait_for(lambda: self._later_pages >= self.gather, timeout=RENDEZVOUS_SECONDS)
        if self.fail_page is not None and number == self.fail_page:
            return Reply.json({"message": f"page {number} is broken"}, 500)
        status, headers, body = self.route(seen.path, query)
        return Reply.json(body, status, headers)

    # -- the routes ------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], t.Any]:
        if path == "/v1/linked":
            return self._linked(query)
        if path == "/v1/tokens":
            return self._by_token(query.get("after"), int(query.get("limit", DEFAULT_SIZE)), lambda page, nxt: {"items": page, "meta": {"next": nxt}})
        if path == "/v1/headed":
            return self._by_token(query.get("page_token"), DEFAULT_SIZE, lambda page, nxt: {"items": page}, header="X-Next-Page-Token")
        if path == "/v1/audit":
            size = int(query.get("per_page", DEFAULT_SIZE))
            return self._by_token(
                query.get("cursor"), size, lambda page, nxt: {"result": page, "result_info": {"count": len(page), "per_page": size, **({"cursor": nxt} if nxt else {})}}
            )
        if path == "/v1/zones/z1/records":
            items = [i for i in ITEMS if query.get("kind") in (None, i["kind"])]
            page, size, chunk = self._numbered(items, query, "page", "per_page")
            info = {"page": page, "per_page": size, "count": len(chunk), "total_count": len(items), "total_pages": -(-len(items) // size)}
            return 200, {}, {"success": True, "errors": [], "messages": [], "result": chunk, "result_info": info}
        if path == "/v1/meetings":
            page, size, chunk = self._numbered(ITEMS, query, "page_no", "per_page")
            start = (page - 1) * size
            return 200, {}, {"success": True, "data": chunk, "paging": {"total_count": N_ITEMS, "start_offset": start, "end_offset": start + len(chunk) - 1}}
        if path == "/v1/linodes":
            page, size, chunk = self._numbered(ITEMS, query, "page", "page_size")
            return 200, {}, {"data": chunk, "page": page, "pages": -(-N_ITEMS // size), "results": N_ITEMS}
        if path == "/v1/plain":
            _, _, chunk = self._numbered(ITEMS, query, "page", "size")
            return 200, {}, {"items": chunk}
        return 404, {}, {"message": f"no such path {path}"}

    def _linked(self, query: dict[str, str]) -> tuple[int, dict[str, str], t.Any]:
        page, size, chunk = self._numbered(ITEMS, query, "page", "per_page")
        last = -(-N_ITEMS // size)
        links = [f'<{self.api}/linked?per_page={size}&page={last}>; rel="last"']
        if page < last:
            links.insert(0, f'<{self.api}/linked?per_page={size}&page={page + 1}>; rel="next"')
        if page > 1:
            links.append(f'<{self.api}/linked?per_page={size}&page={page - 1}>; rel="prev"')
        return 200, {"Link": ", ".join(links)}, chunk

    @staticmethod
    def _by_token(token: str | None, size: int, body: t.Callable[[list, str | None], t.Any], header: str | None = None) -> tuple[int, dict[str, str], t.Any]:
        start = int(token[1:]) if token else 0
        chunk = ITEMS[start : start + size]
        following = f"t{start + size}" if start + size < N_ITEMS else None
        headers = {header: following} if header and following else {}
        return 200, headers, body(chunk, None if header else following)

    def _numbered(self, items: list[dict[str, t.Any]], query: dict[str, str], page_key: str, size_key: str) -> tuple[int, int, list]:
        page, size = int(query.get(page_key, 1)), int(query.get(size_key, DEFAULT_SIZE))
        return page, size, items[(page - 1) * size : page * size]


@pytest.fixture
def pages() -> t.Iterator[Pages]:
    with Pages() as server:
        yield server


def settings(pages: Pages) -> Settings:
    return Settings(token="pager-token", base_url=pages.api, retries=0)


@pytest.fixture
def conn(pages: Pages) -> t.Iterator[Connection]:
    with Connection(settings(pages), registry=Registry(PROVIDERS)) as connection:
        yield connection


def ids(rows: list[dict[str, t.Any]]) -> list[str]:
    return [row["id"] for row in rows]


# --------------------------------------------------------------------------
# Each scheme reads every page, in order
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource, where, path, pages_read",
    [
        ("linked", "", "/v1/linked", 5),  # Link header, rel="next" (GitHub, Okta)
        ("tokens", "", "/v1/tokens", 5),  # $.meta.next in the body, back as ?after=
        ("headed", "", "/v1/headed", 5),  # X-Next-Page-Token header, back as ?page_token=
        ("records", "WHERE zone_id = 'z1'", "/v1/zones/z1/records", 5),  # inferred: result_info.total_pages
        ("meetings", "", "/v1/meetings", 5),  # inferred: paging.total_count, the page size learned from page 1
        ("audit", "", "/v1/audit", 5),  # inferred: result_info.cursor
        ("linodes", "", "/v1/linodes", 5),  # StackQL's page_number: $.page against $.pages
        ("plain", "WHERE size = 5", "/v1/plain", 5),  # no totals: the short fifth page is the last
    ],
)
def test_every_scheme_reads_every_page_in_order(conn: Connection, pages: Pages, resource: str, where: str, path: str, pages_read: int) -> None:
    rows = conn.execute(f"SELECT id, n FROM pager.items.{resource} {where}")
    assert ids(rows) == IDS
    assert len(pages.paths(path)) == pages_read
    assert len(pages.seen) == pages_read  # nothing else was asked for


def test_the_link_header_is_followed_as_given(conn: Connection, pages: Pages) -> None:
    conn.execute("SELECT id FROM pager.items.linked WHERE per_page = 10")
    assert pages.paths("/v1/linked") == [{"per_page": "10"}, {"per_page": "10", "page": "2"}, {"per_page": "10", "page": "3"}]


def test_tokens_go_back_where_the_document_says(conn: Connection, pages: Pages) -> None:
    conn.execute("SELECT id FROM pager.items.tokens WHERE limit = 10")
    assert pages.paths("/v1/tokens") == [{"limit": "10"}, {"limit": "10", "after": "t10"}, {"limit": "10", "after": "t20"}]
    conn.execute("SELECT id FROM pager.items.headed")
    assert [q.get("page_token") for q in pages.paths("/v1/headed")] == [None, "t5", "t10", "t15", "t20"]


def test_a_cursor_found_by_inference_is_sent_back(conn: Connection, pages: Pages) -> None:
    assert ids(conn.execute("SELECT id FROM pager.items.audit WHERE per_page = 20")) == IDS
    assert pages.paths("/v1/audit") == [{"per_page": "20"}, {"per_page": "20", "cursor": "t20"}]


def test_inferred_numbered_pages_follow_api_filters(conn: Connection, pages: Pages) -> None:
    rows = conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1' AND kind = 'odd' AND per_page = 4")
    assert ids(rows) == [i["id"] for i in ITEMS if i["kind"] == "odd"]  # 12 odd items: 3 pages
    assert sorted(int(q.get("page", 1)) for q in pages.paths("/v1/zones/z1/records")) == [1, 2, 3]


def test_giving_the_page_reads_that_page_only(conn: Connection, pages: Pages) -> None:
    assert ids(conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1' AND page = 2")) == IDS[5:10]
    assert ids(conn.execute("SELECT id FROM pager.items.audit WHERE cursor = 't20'")) == IDS[20:]
    assert len(pages.seen) == 2


# --------------------------------------------------------------------------
# Concurrency: when the first page tells how many remain
# --------------------------------------------------------------------------


@pytest.mark.parametrize("resource, where", [("records", "WHERE zone_id = 'z1'"), ("meetings", ""), ("linodes", "")])
def test_known_remaining_pages_are_read_at_once(conn: Connection, pages: Pages, resource: str, where: str) -> None:
    pages.gather = 2  # each page past the first waits for another to arrive: only a concurrent client is quick
    rows = conn.execute(f"SELECT id FROM pager.items.{resource} {where}")
    assert ids(rows) == IDS  # in page order, whichever page came back first
    assert len(pages.seen) == 5
    assert pages.max_in_flight > 1


@pytest.mark.parametrize("resource, where", [("linked", ""), ("tokens", ""), ("headed", ""), ("audit", ""), ("plain", "WHERE size = 5")])
def test_pages_nothing_counts_are_read_one_after_another(conn: Connection, pages: Pages, resource: str, where: str) -> None:
    assert ids(conn.execute(f"SELECT id FROM pager.items.{resource} {where}")) == IDS
    assert len(pages.seen) == 5 and pages.max_in_flight == 1


def test_the_async_driver_reads_known_pages_at_once(pages: Pages) -> None:
    pages.gather = 2

    async def scenario() -> list[dict[str, t.Any]]:
        async with AsyncConnection(settings(pages), registry=Registry(PROVIDERS)) as conn:
            return await conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1'")

    assert ids(asyncio.run(scenario())) == IDS
    assert len(pages.seen) == 5 and pages.max_in_flight > 1


def test_no_more_than_four_pages_are_in_flight(conn: Connection, pages: Pages) -> None:
    rows = conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1' AND per_page = 1")
    assert ids(rows) == IDS
    assert len(pages.seen) == N_ITEMS and 1 <= pages.max_in_flight <= 4


def test_a_failed_page_fails_the_statement(conn: Connection, pages: Pages) -> None:
    pages.fail_page = 3
    with pytest.raises(APIError, match="page 3 is broken"):
        conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1'")
    asked = {int(q.get("page", 1)) for q in pages.paths("/v1/zones/z1/records")}
    assert {1, 3} <= asked <= {1, 2, 3, 4, 5}  # the batch's other pages may or may not have gone: none after it


# --------------------------------------------------------------------------
# LIMIT asks only for the pages it can use
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limit, offset, numbers",
    [
        (3, 0, [1]),  # page 1 is enough
        (7, 0, [1, 2]),  # 5 + 2: one more page, not all four
        (12, 0, [1, 2, 3]),  # 5 + 7: two more at once
        (5, 8, [1, 2, 3]),  # OFFSET counts too: 13 rows
        (100, 0, [1, 2, 3, 4, 5]),
        (0, 0, []),
    ],
)
def test_limit_stops_early(conn: Connection, pages: Pages, limit: int, offset: int, numbers: list[int]) -> None:
    rows = conn.execute(f"SELECT id FROM pager.items.records WHERE zone_id = 'z1' LIMIT {limit} OFFSET {offset}")
    assert ids(rows) == IDS[offset : offset + limit]
    assert sorted(int(q.get("page", 1)) for q in pages.paths("/v1/zones/z1/records")) == numbers


def test_limit_with_a_local_filter_asks_for_more_until_enough_rows_match(conn: Connection, pages: Pages) -> None:
    rows = conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1' AND n > 9 LIMIT 2")
    assert ids(rows) == ["i10", "i11"]
    assert sorted(int(q.get("page", 1)) for q in pages.paths("/v1/zones/z1/records")) == [1, 2, 3]


def test_limit_stops_token_pages_too(conn: Connection, pages: Pages) -> None:
    assert ids(conn.execute("SELECT id FROM pager.items.tokens LIMIT 6")) == IDS[:6]
    assert len(pages.paths("/v1/tokens")) == 2


def test_order_by_reads_every_page_even_with_limit(conn: Connection, pages: Pages) -> None:
    assert ids(conn.execute("SELECT id FROM pager.items.records WHERE zone_id = 'z1' ORDER BY n DESC LIMIT 1")) == ["i23"]
    assert len(pages.paths("/v1/zones/z1/records")) == 5


def test_a_failed_page_fails_the_async_statement_too(pages: Pages) -> None:
    pages.fail_page = 2

    async def scenario() -> None:
        async with AsyncConnection(settings(pages), registry=Registry(PROVIDERS)) as conn:
            await conn.execute("SELECT id FROM pager.items.meetings")

    with pytest.raises(APIError, match="page 2 is broken"):
        asyncio.run(scenario())
    assert max(int(q.get("page_no", 1)) for q in pages.paths("/v1/meetings")) <= 5

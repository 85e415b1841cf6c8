"""Transport: authentication, routing, hostile paths, keep-alive, concurrency."""

from __future__ import annotations

import http.client
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}

V4_AUTH_ERROR = {
    "success": False,
    "errors": [{"code": 10000, "message": "Authentication error"}],
    "messages": [],
    "result": None,
}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": SANDBOX_TOKEN},
        {"Authorization": f"Basic {SANDBOX_TOKEN}"},
        {"X-Auth-Key": SANDBOX_TOKEN},  # legacy key needs an email beside it
        {"X-Auth-Key": "wrong", "X-Auth-Email": "me@example.com"},
    ],
)
def test_missing_or_wrong_credentials_are_401_in_v4_envelope(emulator: Emulator, headers):
    response = httpx.post(f"{emulator.url}/accounts/a/realtime/kit/b/meetings", json={}, headers=headers)
    assert response.status_code == 401
    assert response.json() == V4_AUTH_ERROR
    assert emulator.meetings("a", "b") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        {"authorization": f"bearer {SANDBOX_TOKEN}"},
        {"X-Auth-Key": SANDBOX_TOKEN, "X-Auth-Email": "anyone@example.com"},
    ],
)
def test_accepted_credentials(emulator: Emulator, headers):
    response = httpx.get(f"{emulator.url}/accounts/a/realtime/kit/auth-ok/meetings", headers=headers)
    assert response.status_code == 200


def test_custom_token(make_emulator):
    emu = make_emulator(token="s3cret")
    path = f"{emu.url}/accounts/a/realtime/kit/b/meetings"
    assert httpx.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert httpx.get(path, headers=AUTH).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/a/realtime/kit/b",
        "/accounts/a/realtime/kit/b/meetings/m/participants/p/token/extra",
        "/accounts/a/realtime/kit/b/meetings/m/people",
        "/accounts/a/realtime/kit/b/meetings/",
        "/accounts/a/realtime/kit/b/meetings//participants",
        "/accounts/a/realtime%2Fkit/b/meetings",
    ],
)
def test_unknown_routes_are_404_in_v4_envelope(emulator: Emulator, path):
    response = httpx.get(emulator.url + path, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 7000


def test_paths_outside_the_api_base_are_404(emulator: Emulator):
    base = emulator.url.removesuffix("/client/v4")
    assert httpx.get(f"{base}/accounts/a/realtime/kit/b/meetings", headers=AUTH).status_code == 404


def test_wrong_method_is_405_with_allow(emulator: Emulator):
    response = httpx.delete(f"{emulator.url}/accounts/a/realtime/kit/b/meetings", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def raw_get(emulator: Emulator, path: str) -> tuple[int, bytes]:
    """Send a path exactly as written (httpx would normalise ``..`` away)."""
    conn = http.client.HTTPConnection(emulator.host, emulator.port, timeout=5)
    try:
        conn.request("GET", "/client/v4" + path, headers=AUTH)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_hostile_ids_stay_404_and_never_reach_another_path(api, emulator: Emulator):
    meeting = api.create(title="target")
    person = api.add(meeting["id"])
    prefix = f"/accounts/{api.account}/realtime/kit/{api.app}/meetings"
    hostile = [
        f"{prefix}/a%2Fb",
        f"{prefix}/{meeting['id']}%2Fparticipants",
        f"{prefix}/..",
        f"{prefix}/%2E%2E",
        f"{prefix}/x/participants/..",
        f"{prefix}/{meeting['id']}/participants/%2E%2E",
        f"{prefix}/{meeting['id']}/participants/{person['id']}%2Ftoken",
        f"{prefix}/{meeting['id']}/..%2F{meeting['id']}/participants",
    ]
    for path in hostile:
        status, body = raw_get(emulator, path)
        assert status == 404, (path, body)
        assert b'"success":false' in body and b'"data"' not in body


def test_percent_encoded_ids_are_decoded_per_segment(api):
    meeting = api.create()
    encoded = meeting["id"].replace("-", "%2D")
    assert api.http.get(f"{api.base}/{encoded}").json()["data"]["id"] == meeting["id"]


def test_one_keep_alive_connection_serves_many_requests(emulator: Emulator):
    # How fast they go (no 40 ms delayed-ACK stall per round trip) is benchmarks/emulator_rps.py's to measure.
    with httpx.Client(base_url=emulator.url, headers=AUTH) as client:
        path = "/accounts/a/realtime/kit/keepalive/meetings"
        meeting_id = client.post(path, json={}).json()["data"]["id"]
        connections = set()
        for _ in range(100):
            response = client.get(f"{path}/{meeting_id}")
            assert response.status_code == 200
            connections.add(id(response.extensions["network_stream"]))
    assert len(connections) == 1


def test_chunked_and_broken_bodies_are_refused_without_desync(emulator: Emulator):
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(
            b"POST /client/v4/accounts/a/realtime/kit/b/meetings HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + SANDBOX_TOKEN.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n"
        )
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 411 ") and b"Connection: close" in reply
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(b"GET /client/v4/x HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
    big = httpx.post(f"{emulator.url}/accounts/a/realtime/kit/b/meetings", content=b" " * (2 << 20), headers=AUTH)
    assert big.status_code == 413


def test_concurrent_creates_are_all_kept_and_distinct(make_emulator):
    emu = make_emulator()
    path = f"{emu.url}/accounts/a/realtime/kit/busy/meetings"
    local = threading.local()

    def create(i: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(headers=AUTH)
        response = local.client.post(path, json={"title": f"m{i}"})
        assert response.status_code == 201
        return response.json()["data"]["id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(create, range(400)))
    assert len(set(ids)) == 400
    stored = emu.meetings("a", "busy")
    assert len(stored) == 400 and {m["id"] for m in stored} == set(ids)
    assert sorted(m["title"] for m in stored) == sorted(f"m{i}" for i in range(400))
    stamps = [m["created_at"] for m in stored]
    assert stamps == sorted(stamps) and len(set(stamps)) == 400


def test_request_count_counts_every_request(make_emulator):
    emu = make_emulator()
    with httpx.Client(base_url=emu.url) as client:
        for _ in range(3):
            client.get("/accounts/a/realtime/kit/b/meetings")  # 401s count too
    assert emu.request_count == 3


def test_stop_hangs_up_on_pooled_connections(make_emulator):
    emu = make_emulator()
    client = httpx.Client(base_url=emu.url, headers=AUTH)
    assert client.get("/accounts/a/realtime/kit/b/meetings").status_code == 200
    emu.stop()
    with pytest.raises(httpx.TransportError):
        client.get("/accounts/a/realtime/kit/b/meetings")
    client.close()


def test_ids_with_encoded_slashes_are_their_own_namespace(emulator: Emulator):
    with httpx.Client(base_url=emulator.url, headers=AUTH) as client:
        created = client.post("/accounts/acct/realtime/kit/team%2Fslash/meetings", json={})
        assert created.status_code == 201
        assert emulator.meetings("acct", "team/slash")[0]["id"] == created.json()["data"]["id"]
        assert client.get("/accounts/acct/realtime/kit/team/meetings").json()["data"] == []
        assert client.get("/accounts/acct/realtime/kit/team%2Fslash/meetings").json()["paging"]["total_count"] == 1

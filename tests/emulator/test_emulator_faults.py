"""Faults on demand: latency, rate limit, 500s, drops; determinism and write decidability."""

from __future__ import annotations

import time

import httpx
import pytest

from cfql.provider.cloudflare.emulator import SANDBOX_TOKEN, Emulator, Faults

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}

RATE_LIMITED = {
    "success": False,
    "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}],
    "messages": [],
    "result": None,
}


def outcomes(client: httpx.Client, path: str, count: int) -> list[str]:
    """Create `count` meetings one by one and name what happened to each request."""
    seen = []
    for i in range(count):
        try:
            response = client.post(path, json={"title": f"m{i}"})
        except httpx.TransportError:
            seen.append("drop")
            continue
        seen.append({201: "ok", 500: "error"}[response.status_code])
    return seen


def test_latency_is_waited_out_before_a_response(private):
    emu, api = private
    emu.faults.latency = 0.2
    start = time.perf_counter()
    assert api.http.get(api.base).status_code == 200
    assert time.perf_counter() - start >= 0.2


def test_latency_is_added_to_every_response_until_set_back_to_zero(timed):
    emu, api, clock = timed
    emu.faults.latency = 0.2
    assert [api.http.get(api.base).status_code for _ in range(2)] == [200, 200]
    emu.faults.latency = 0.0
    assert api.http.get(api.base).status_code == 200
    assert clock.slept == [0.2, 0.2]


def test_rate_limit_answers_429_with_retry_after(timed):
    emu, api, clock = timed
    emu.faults.rate_limit = "3/60"
    assert [api.http.get(api.base).status_code for _ in range(3)] == [200, 200, 200]
    clock.advance(15.5)
    limited = api.http.post(api.base, json={})
    assert limited.status_code == 429
    assert limited.json() == RATE_LIMITED
    assert limited.headers["Retry-After"] == "45"  # the oldest request leaves the window in 44.5 s, rounded up
    assert emu.meetings(api.account, api.app) == []  # a throttled write never happens
    emu.faults.rate_limit = None
    assert api.http.get(api.base).status_code == 200


def test_rate_limit_window_slides(timed):
    emu, api, clock = timed
    emu.faults.rate_limit = "2/0.3"
    assert [api.http.get(api.base).status_code for _ in range(3)] == [200, 200, 429]
    clock.advance(0.35)
    assert api.http.get(api.base).status_code == 200


def test_error_rate_one_fails_everything_before_the_write(private):
    emu, api = private
    emu.faults.error_rate = 1.0
    response = api.http.post(api.base, json={"title": "lost"})
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": {"code": 500, "message": "Internal server error"}}
    assert emu.meetings(api.account, api.app) == []


def test_drop_rate_one_closes_the_connection_before_the_write(private):
    emu, api = private
    emu.faults.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        api.http.post(api.base, json={"title": "lost"})
    assert emu.meetings(api.account, api.app) == []
    emu.faults.drop_rate = 0.0
    assert api.http.get(api.base).status_code == 200  # the client reconnects


def test_fault_after_write_loses_only_the_response(private):
    emu, api = private
    emu.faults.fault_after_write = True
    emu.faults.error_rate = 1.0
    assert api.http.post(api.base, json={"title": "kept-500"}).status_code == 500
    emu.faults.error_rate = 0.0
    emu.faults.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        api.http.post(api.base, json={"title": "kept-drop"})
    assert [m["title"] for m in emu.meetings(api.account, api.app)] == ["kept-500", "kept-drop"]


def test_fault_shares_are_roughly_as_asked_and_reproducible(make_emulator):
    runs = []
    for _ in range(2):
        emu = make_emulator(faults=Faults(error_rate=0.2, drop_rate=0.1, seed=42))
        with httpx.Client(headers=AUTH) as client:
            seen = outcomes(client, f"{emu.url}/accounts/acct/realtime/kit/app/meetings", 200)
        runs.append(seen)
        # only requests that were not faulted wrote anything (faults come before the write)
        assert len(emu.meetings("acct", "app")) == seen.count("ok")
    assert runs[0] == runs[1]
    assert 20 <= runs[0].count("error") <= 60 and 5 <= runs[0].count("drop") <= 40


def test_a_different_seed_gives_a_different_pattern(make_emulator):
    patterns = []
    for seed in (1, 2):
        emu = make_emulator(faults=Faults(error_rate=0.5, seed=seed))
        with httpx.Client(headers=AUTH) as client:
            patterns.append(
                [client.get(f"{emu.url}/accounts/a/realtime/kit/b/meetings").status_code for _ in range(40)]
            )
    assert patterns[0] != patterns[1]


def test_faults_can_be_replaced_at_runtime(private):
    emu, api = private
    emu.faults = Faults(error_rate=1.0)
    assert api.http.get(api.base).status_code == 500
    emu.faults = Faults()
    assert api.http.get(api.base).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latency", -1),
        ("error_rate", 1.5),
        ("drop_rate", "0.1"),
        ("rate_limit", "10"),
        ("rate_limit", "0/5"),
        ("rate_limit", "5/0"),
        ("seed", 1.5),
        ("fault_after_write", 1),
    ],
)
def test_bad_fault_settings_are_refused_where_they_are_made(field, value):
    with pytest.raises(ValueError, match=field):
        Faults(**{field: value})
    faults = Faults()
    with pytest.raises(ValueError, match=field):
        setattr(faults, field, value)


def test_unknown_fault_setting_is_refused():
    with pytest.raises(AttributeError):
        Faults().jitter = 1.0  # type: ignore[attr-defined]


def test_emulator_faults_default_to_none_of_them():
    faults = Emulator().faults
    assert faults == Faults(
        latency=0.0, rate_limit=None, error_rate=0.0, drop_rate=0.0, seed=0, fault_after_write=False
    )


def test_refused_requests_do_not_count_against_the_limit(timed):
    emu, api, clock = timed
    emu.faults.rate_limit = "2/1"
    assert [api.http.get(api.base).status_code for _ in range(3)] == [200, 200, 429]
    clock.advance(0.3)
    assert api.http.get(api.base).status_code == 429  # window still full
    clock.advance(0.75)
    # only the two admitted requests had filled the window, so both slots are free again
    assert [api.http.get(api.base).status_code for _ in range(2)] == [200, 200]


def test_edge_checks_come_before_authentication(private):
    emu, api = private
    anonymous = httpx.Client(base_url=emu.url)
    emu.faults.error_rate = 1.0
    assert anonymous.get(api.base).status_code == 500
    emu.faults = Faults(rate_limit="1/60")
    assert api.http.get(api.base).status_code == 200
    assert anonymous.get(api.base).status_code == 429
    emu.faults = Faults()
    assert anonymous.get(api.base).status_code == 401
    anonymous.close()

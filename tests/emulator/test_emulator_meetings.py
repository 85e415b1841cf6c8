"""Meetings: create/list/get/PATCH/PUT semantics, defaults, filters, validation, secrets."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from cfql.provider.cloudflare.emulator import Emulator

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DEFAULTS = {
    "status": "ACTIVE",
    "live_stream_on_start": False,
    "persist_chat": False,
    "record_on_start": False,
    "summarize_on_end": False,
    "transcribe_on_end": False,
    "session_keep_alive_time_in_secs": 60,
}
STORAGE = {
    "type": "aws",
    "access_key": "AKIA-SECRET-KEY",
    "secret": "s3cr3t",
    "password": "hunter2",
    "private_key": "-----BEGIN KEY-----",
    "region": "us-east-1",
    "bucket": "recordings",
    "path": "meetings/",
}
SECRETS = ("AKIA-SECRET-KEY", "s3cr3t", "hunter2", "-----BEGIN KEY-----")


def test_create_applies_spec_defaults(api):
    response = api.http.post(api.base, json={})
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    meeting = body["data"]
    assert uuid.UUID(meeting["id"]).version == 4
    assert STAMP.match(meeting["created_at"]) and meeting["updated_at"] == meeting["created_at"]
    assert {k: meeting[k] for k in DEFAULTS} == DEFAULTS
    # title is null by default, shown by leaving it out (the spec's title is a non-nullable string)
    assert "title" not in meeting and "ai_config" not in meeting and "recording_config" not in meeting


def test_create_with_every_field_round_trips(api):
    body = {
        "title": "Weekly sync",
        "live_stream_on_start": True,
        "persist_chat": True,
        "record_on_start": True,
        "summarize_on_end": True,
        "transcribe_on_end": True,
        "session_keep_alive_time_in_secs": 600,
        "ai_config": {
            "summarization": {"summary_type": "daily_standup", "text_format": "plain_text", "word_limit": 150},
            "transcription": {"keywords": ["cfql"], "language": "fr", "profanity_filter": True},
        },
        "recording_config": {
            "audio_config": {"channel": "mono", "codec": "MP3", "export_file": False},
            "file_name_prefix": "rec-",
            "live_streaming_config": {"rtmp_url": "rtmp://a.rtmp.youtube.com/live2"},
            "max_seconds": 86400,
            "realtimekit_bucket_config": {"enabled": True},
            "video_config": {
                "codec": "VP9",
                "export_file": True,
                "height": 1080,
                "width": 1920,
                "watermark": {
                    "position": "right bottom",
                    "size": {"height": 10, "width": 20},
                    "url": "https://x.test/w.png",
                },
            },
        },
    }
    meeting = api.create(**body)
    assert {k: meeting[k] for k in body} == body
    assert api.http.get(api.meeting_path(meeting["id"])).json()["data"] == meeting


def test_null_optional_fields_mean_default_on_create(api):
    meeting = api.create(title=None, live_stream_on_start=None, record_on_start=None)
    assert "title" not in meeting
    assert meeting["live_stream_on_start"] is False and meeting["record_on_start"] is False


def test_get_unknown_meeting_is_404_in_realtimekit_envelope(api):
    response = api.http.get(api.meeting_path(str(uuid.uuid4())))
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == 404 and "not found" in body["error"]["message"]


def test_meetings_are_scoped_by_account_and_app(api):
    meeting = api.create(title="mine")
    other_app = f"/accounts/{api.account}/realtime/kit/other-{api.app}/meetings/{meeting['id']}"
    other_account = f"/accounts/other-{api.account}/realtime/kit/{api.app}/meetings/{meeting['id']}"
    for path in (other_app, other_account):
        assert api.http.get(path).status_code == 404
        assert api.http.patch(path, json={"title": "stolen"}).status_code == 404
    assert api.http.get(other_app.rsplit("/", 1)[0]).json()["data"] == []


def test_patch_merges_and_moves_updated_at(api):
    meeting = api.create(title="before", persist_chat=True, session_keep_alive_time_in_secs=120)
    response = api.http.patch(api.meeting_path(meeting["id"]), json={"title": "after", "status": "INACTIVE"})
    assert response.status_code == 200
    patched = response.json()["data"]
    assert patched["title"] == "after" and patched["status"] == "INACTIVE"
    assert patched["persist_chat"] is True and patched["session_keep_alive_time_in_secs"] == 120
    assert patched["created_at"] == meeting["created_at"]
    assert patched["updated_at"] > meeting["updated_at"]
    # even an empty PATCH is a write: updated_at moves every time
    again = api.http.patch(api.meeting_path(meeting["id"]), json={}).json()["data"]
    assert again["updated_at"] > patched["updated_at"]


def test_patch_replaces_nested_objects_whole(api):
    ai = {"summarization": {"word_limit": 300}, "transcription": {"language": "de"}}
    meeting = api.create(ai_config=ai)
    patched = api.http.patch(api.meeting_path(meeting["id"]), json={"ai_config": {"transcription": {"language": "hi"}}})
    assert patched.json()["data"]["ai_config"] == {"transcription": {"language": "hi"}}


def test_put_replaces_and_resets_omitted_fields_to_defaults(api):
    meeting = api.create(
        title="t", persist_chat=True, record_on_start=True, ai_config={"transcription": {"language": "sv"}}
    )
    api.http.patch(api.meeting_path(meeting["id"]), json={"status": "INACTIVE"})
    response = api.http.put(api.meeting_path(meeting["id"]), json={"summarize_on_end": True})
    assert response.status_code == 200
    replaced = response.json()["data"]
    assert replaced["summarize_on_end"] is True
    assert replaced["persist_chat"] is False and replaced["record_on_start"] is False
    assert "title" not in replaced and "ai_config" not in replaced
    # id, created_at and status (only PATCH can set it) survive a replace
    assert (replaced["id"], replaced["created_at"], replaced["status"]) == (
        meeting["id"],
        meeting["created_at"],
        "INACTIVE",
    )
    assert replaced["updated_at"] > meeting["updated_at"]


def test_put_and_patch_unknown_meeting_is_404(api):
    missing = api.meeting_path(str(uuid.uuid4()))
    assert api.http.put(missing, json={}).status_code == 404
    assert api.http.patch(missing, json={}).status_code == 404


def test_storage_secrets_are_never_echoed(api, emulator: Emulator):
    created = api.http.post(api.base, json={"recording_config": {"storage_config": STORAGE}})
    meeting_id = created.json()["data"]["id"]
    responses = [
        created,
        api.http.get(api.meeting_path(meeting_id)),
        api.http.get(api.base),
        api.http.patch(api.meeting_path(meeting_id), json={"recording_config": {"storage_config": STORAGE}}),
        api.http.put(api.meeting_path(meeting_id), json={"recording_config": {"storage_config": STORAGE}}),
    ]
    for response in responses:
        assert response.status_code in (200, 201)
        assert not any(secret in response.text for secret in SECRETS), response.text
    shown = responses[1].json()["data"]["recording_config"]["storage_config"]
    assert shown == {"type": "aws", "region": "us-east-1", "bucket": "recordings", "path": "meetings/"}
    # ...but they are stored: the emulator keeps what a real service would use to upload
    stored = emulator.meetings(api.account, api.app)[0]["recording_config"]["storage_config"]
    assert stored["secret"] == "s3cr3t"


def test_storage_config_may_be_null(api):
    meeting = api.create(recording_config={"storage_config": None, "file_name_prefix": "p"})
    assert meeting["recording_config"] == {"storage_config": None, "file_name_prefix": "p"}


@pytest.mark.parametrize(
    "storage",
    [
        {"type": "gcs"},
        {"type": "azure", "access_key": "k", "region": "r"},
        {"type": "sftp", "private_key": "k", "auth_method": "KEY"},
        {"type": "sftp", "password": "p", "auth_method": "PASSWORD", "host": "h", "port": 22},
    ],
)
def test_storage_config_shapes_of_the_sdk_are_accepted(api, storage):
    assert api.http.post(api.base, json={"recording_config": {"storage_config": storage}}).status_code == 201


def list_ids(api, **params: Any) -> list[str]:
    response = api.http.get(api.base, params=params)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


def test_list_pages_in_creation_order_with_paging_block(api):
    ids = [api.create(title=f"m{i}")["id"] for i in range(5)]
    first = api.http.get(api.base, params={"page_no": 1, "per_page": 2}).json()
    assert [m["id"] for m in first["data"]] == ids[:2]
    assert first["paging"] == {"total_count": 5, "start_offset": 0, "end_offset": 1}
    last = api.http.get(api.base, params={"page_no": 3, "per_page": 2}).json()
    assert [m["id"] for m in last["data"]] == ids[4:]
    assert last["paging"] == {"total_count": 5, "start_offset": 4, "end_offset": 4}
    beyond = api.http.get(api.base, params={"page_no": 9, "per_page": 2}).json()
    assert beyond["data"] == [] and beyond["paging"] == {"total_count": 5, "start_offset": 16, "end_offset": 15}
    # empty or 0 means the default: page 1, 20 per page
    assert list_ids(api, page_no="", per_page="0") == ids


def test_list_search_matches_title_or_id_case_insensitively(api):
    standup = api.create(title="Daily STANDUP")
    retro = api.create(title="Retro")
    api.create()
    assert list_ids(api, search="standup") == [standup["id"]]
    assert list_ids(api, search=retro["id"][:8].upper()) == [retro["id"]]
    assert list_ids(api, search="nothing-like-this") == []


def test_list_filters_by_status(api):
    active = api.create()
    inactive = api.create()
    api.http.patch(api.meeting_path(inactive["id"]), json={"status": "INACTIVE"})
    assert list_ids(api, status="ACTIVE") == [active["id"]]
    assert list_ids(api, status="INACTIVE") == [inactive["id"]]


def test_list_filters_by_creation_time(api):
    first = api.create()
    second = api.create()
    assert list_ids(api, start_time=second["created_at"]) == [second["id"]]
    assert list_ids(api, end_time=first["created_at"]) == [first["id"]]
    assert list_ids(api, start_time="2000-01-01T00:00:00Z", end_time="2000-01-02T00:00:00+00:00") == []
    assert list_ids(api, start_time="2000-01-01T00:00:00") == [first["id"], second["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_no": "two"}, "page_no"),
        ({"per_page": "-1"}, "per_page"),
        ({"per_page": "2.5"}, "per_page"),
        ({"status": "DELETED"}, "status"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"perpage": "5"}, "perpage"),
    ],
)
def test_list_rejects_bad_query_naming_the_parameter(api, params, field):
    response = api.http.get(api.base, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 5}, "title"),
        ({"persist_chat": "yes"}, "persist_chat"),
        ({"session_keep_alive_time_in_secs": 59}, "session_keep_alive_time_in_secs"),
        ({"session_keep_alive_time_in_secs": 601}, "session_keep_alive_time_in_secs"),
        ({"session_keep_alive_time_in_secs": True}, "session_keep_alive_time_in_secs"),
        ({"status": "ACTIVE"}, "status"),  # only PATCH may set status
        ({"colour": "blue"}, "colour"),
        ({"ai_config": {"summarization": {"word_limit": 100}}}, "ai_config.summarization.word_limit"),
        ({"ai_config": {"transcription": {"language": "xx"}}}, "ai_config.transcription.language"),
        ({"ai_config": {"transcription": {"keywords": ["ok", 3]}}}, "ai_config.transcription.keywords[1]"),
        ({"recording_config": {"video_config": {"codec": "AV1"}}}, "recording_config.video_config.codec"),
        ({"recording_config": {"video_config": {"height": 1.5}}}, "recording_config.video_config.height"),
        ({"recording_config": {"max_seconds": 59}}, "recording_config.max_seconds"),
        ({"recording_config": {"realtimekit_bucket_config": {}}}, "recording_config.realtimekit_bucket_config.enabled"),
        (
            {"recording_config": {"live_streaming_config": {"rtmp_url": "not a url"}}},
            "recording_config.live_streaming_config.rtmp_url",
        ),
        ({"recording_config": {"storage_config": {"bucket": "b"}}}, "recording_config.storage_config.type"),
        ({"recording_config": {"storage_config": {"type": "aws", "region": "r"}}}, "recording_config.storage_config"),
        (
            {"recording_config": {"storage_config": {"type": "sftp", "password": "p", "auth_method": "KEY"}}},
            "recording_config.storage_config",
        ),
    ],
)
def test_create_rejects_bad_body_naming_the_field(api, body, field):
    response = api.http.post(api.base, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["success"] is False and error["error"]["code"] == 400
    assert error["error"]["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"status": "PAUSED"}, "status"),
        ({"record_on_start": None}, "record_on_start"),
        ({"id": "mine"}, "id"),
    ],
)
def test_patch_rejects_bad_body_naming_the_field(api, body, field):
    meeting = api.create(title="keep")
    response = api.http.patch(api.meeting_path(meeting["id"]), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")
    assert api.http.get(api.meeting_path(meeting["id"])).json()["data"] == meeting


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"text"', b'{"title": NaN}', b"\xff\xfe", b'{"a": ' + b"[" * 100_000])
def test_malformed_or_non_object_json_is_400(api, raw):
    response = api.http.post(api.base, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body:")


def test_get_meeting_accepts_the_specs_name_parameter_only(api):
    meeting = api.create()
    assert api.http.get(api.meeting_path(meeting["id"]), params={"name": "x"}).status_code == 200
    response = api.http.get(api.meeting_path(meeting["id"]), params={"expand": "all"})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("expand:")


def test_repeated_query_parameter_is_400(api):
    response = api.http.get(f"{api.base}?page_no=1&page_no=2")
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("page_no:")


def test_put_cannot_set_status(api):
    meeting = api.create()
    response = api.http.put(api.meeting_path(meeting["id"]), json={"status": "INACTIVE"})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("status:")


def test_create_with_an_empty_body_uses_defaults(api):
    response = api.http.post(api.base, content=b"")
    assert response.status_code == 201
    assert response.json()["data"]["status"] == "ACTIVE"


def test_search_uses_unicode_case_folding(api):
    street = api.create(title="Straße meeting")
    assert list_ids(api, search="STRASSE") == [street["id"]]


def test_per_page_has_no_upper_bound(api):
    ids = [api.create()["id"] for _ in range(3)]
    assert list_ids(api, per_page=100000) == ids

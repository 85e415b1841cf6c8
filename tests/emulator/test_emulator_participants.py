"""Participants: add/list/get/edit/delete, token rotation, and the emulator's documented decisions."""

from __future__ import annotations

import uuid

import pytest

from cfql.provider.cloudflare.emulator import Emulator


@pytest.fixture
def meeting(api) -> dict:
    return api.create(title="with people")


def test_add_participant_returns_201_with_token(api, meeting):
    response = api.http.post(
        f"{api.meeting_path(meeting['id'])}/participants",
        json={
            "custom_participant_id": "alice@example.com",
            "preset_name": "host",
            "name": "Alice",
            "picture": "https://example.com/alice.png",
        },
    )
    assert response.status_code == 201
    person = response.json()["data"]
    assert uuid.UUID(person["id"])
    assert person["custom_participant_id"] == "alice@example.com" and person["preset_name"] == "host"
    assert person["name"] == "Alice" and person["picture"] == "https://example.com/alice.png"
    assert isinstance(person["token"], str) and len(person["token"]) >= 32
    assert person["created_at"] == person["updated_at"]


def test_name_and_picture_default_to_null(api, meeting):
    person = api.add(meeting["id"])
    assert person["name"] is None and person["picture"] is None


def test_get_and_list_show_participants_without_token(api, meeting, emulator: Emulator):
    alice = api.add(meeting["id"], "alice")
    bob = api.add(meeting["id"], "bob")
    got = api.http.get(f"{api.meeting_path(meeting['id'])}/participants/{alice['id']}")
    assert got.status_code == 200
    assert got.json()["data"] == {k: v for k, v in alice.items() if k != "token"}
    listed = api.http.get(f"{api.meeting_path(meeting['id'])}/participants").json()
    assert [p["id"] for p in listed["data"]] == [alice["id"], bob["id"]]
    assert all("token" not in p for p in listed["data"])
    assert listed["paging"] == {"total_count": 2, "start_offset": 0, "end_offset": 1}
    stored = emulator.participants(api.account, api.app, meeting["id"])
    assert [p["token"] for p in stored] == [alice["token"], bob["token"]]


def test_list_participants_pages(api, meeting):
    people = [api.add(meeting["id"], f"user-{i}")["id"] for i in range(3)]
    page = api.http.get(f"{api.meeting_path(meeting['id'])}/participants", params={"page_no": 2, "per_page": 2}).json()
    assert [p["id"] for p in page["data"]] == people[2:]
    assert page["paging"] == {"total_count": 3, "start_offset": 2, "end_offset": 2}
    bad = api.http.get(f"{api.meeting_path(meeting['id'])}/participants", params={"search": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("search:")


def test_edit_participant_merges_and_returns_token(api, meeting):
    person = api.add(meeting["id"], "carol", name="Carol", picture="https://example.com/c.png")
    path = f"{api.meeting_path(meeting['id'])}/participants/{person['id']}"
    response = api.http.patch(path, json={"preset_name": "viewer", "picture": None})
    assert response.status_code == 200
    edited = response.json()["data"]
    assert edited["preset_name"] == "viewer" and edited["picture"] is None and edited["name"] == "Carol"
    assert edited["token"] == person["token"]
    assert edited["updated_at"] > person["updated_at"] and edited["created_at"] == person["created_at"]
    # null preset_name keeps the preset: a participant always has one
    kept = api.http.patch(path, json={"preset_name": None}).json()["data"]
    assert kept["preset_name"] == "viewer"


def test_refresh_token_rotates_it(api, meeting, emulator: Emulator):
    person = api.add(meeting["id"])
    path = f"{api.meeting_path(meeting['id'])}/participants/{person['id']}/token"
    first = api.http.post(path)
    assert first.status_code == 200
    assert first.json() == {"success": True, "data": {"token": first.json()["data"]["token"]}}
    second = api.http.post(path, json={})
    tokens = {person["token"], first.json()["data"]["token"], second.json()["data"]["token"]}
    assert len(tokens) == 3
    stored = emulator.participants(api.account, api.app, meeting["id"])[0]
    assert stored["token"] == second.json()["data"]["token"]
    assert stored["updated_at"] > person["updated_at"]
    assert api.http.post(path, json={"force": True}).status_code == 400


def test_delete_participant_returns_the_four_spec_fields(api, meeting):
    person = api.add(meeting["id"], "dave", preset="webinar_viewer")
    path = f"{api.meeting_path(meeting['id'])}/participants/{person['id']}"
    response = api.http.delete(path)
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"created_at", "custom_participant_id", "preset_id", "updated_at"}
    assert data["custom_participant_id"] == "dave" and data["created_at"] == person["created_at"]
    assert uuid.UUID(data["preset_id"])
    # the preset id is stable per (app, preset name)
    other = api.add(meeting["id"], "erin", preset="webinar_viewer")
    again = api.http.delete(f"{api.meeting_path(meeting['id'])}/participants/{other['id']}").json()["data"]
    assert again["preset_id"] == data["preset_id"]
    assert api.http.get(path).status_code == 404
    assert api.http.delete(path).status_code == 404


def test_duplicate_custom_participant_id_is_409_within_a_meeting_only(api, meeting):
    api.add(meeting["id"], "same")
    response = api.http.post(
        f"{api.meeting_path(meeting['id'])}/participants", json={"custom_participant_id": "same", "preset_name": "p"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {"code": 409, "message": response.json()["error"]["message"]}
    assert "custom_participant_id" in response.json()["error"]["message"]
    other = api.create()
    api.add(other["id"], "same")  # another meeting may reuse it


def test_custom_participant_id_is_free_again_after_delete(api, meeting):
    person = api.add(meeting["id"], "again")
    api.http.delete(f"{api.meeting_path(meeting['id'])}/participants/{person['id']}")
    assert api.add(meeting["id"], "again")["id"] != person["id"]


def test_participants_can_be_added_to_an_inactive_meeting(api, meeting):
    api.http.patch(api.meeting_path(meeting["id"]), json={"status": "INACTIVE"})
    assert api.add(meeting["id"], "late")["token"]


def test_unknown_meeting_or_participant_is_404(api, meeting):
    missing_meeting = api.meeting_path(str(uuid.uuid4()))
    missing_person = f"{api.meeting_path(meeting['id'])}/participants/{uuid.uuid4()}"
    assert api.http.get(f"{missing_meeting}/participants").status_code == 404
    assert (
        api.http.post(
            f"{missing_meeting}/participants", json={"custom_participant_id": "x", "preset_name": "p"}
        ).status_code
        == 404
    )
    for method in ("GET", "PATCH", "DELETE"):
        response = api.http.request(method, missing_person, json={} if method == "PATCH" else None)
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == 404
    assert api.http.post(f"{missing_person}/token").status_code == 404


def test_participant_of_one_meeting_is_invisible_from_another(api, meeting):
    person = api.add(meeting["id"])
    other = api.create()
    assert api.http.get(f"{api.meeting_path(other['id'])}/participants/{person['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preset_name": "p"}, "custom_participant_id"),
        ({"custom_participant_id": "u"}, "preset_name"),
        ({"custom_participant_id": "", "preset_name": "p"}, "custom_participant_id"),
        ({"custom_participant_id": 7, "preset_name": "p"}, "custom_participant_id"),
        ({"custom_participant_id": "u", "preset_name": "p", "picture": "alice.png"}, "picture"),
        ({"custom_participant_id": "u", "preset_name": "p", "role": "admin"}, "role"),
    ],
)
def test_add_participant_rejects_bad_body_naming_the_field(api, meeting, body, field):
    response = api.http.post(f"{api.meeting_path(meeting['id'])}/participants", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 1}, "name"),
        ({"preset_name": ""}, "preset_name"),
        ({"custom_participant_id": "new"}, "custom_participant_id"),
    ],
)
def test_edit_participant_rejects_bad_body_naming_the_field(api, meeting, body, field):
    person = api.add(meeting["id"])
    response = api.http.patch(f"{api.meeting_path(meeting['id'])}/participants/{person['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{field}:")

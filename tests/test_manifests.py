"""Static checks of the hand-written provider manifests.

The service manifest must be a valid OpenAPI 3.0 document, every StackQL
resource method must point at a real operation, and for every method of
`cloudflare.realtime_kit.meetings` the request body must mirror what the
official SDK (cloudflare-python 5.9.0) sends: same HTTP method and path, same
property names at every level, same enums, same required lists, same
JSON types and the same nullability.

The SDK dump is a copy kept in tests/data/ (see tests/data/README.md for its
origin and how to refresh it), so the suite needs nothing outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import OpenAPIV30SpecValidator, validate

REPO = Path(__file__).resolve().parents[1]
PROVIDER_DIR = REPO / "manifests" / "src" / "cloudflare" / "v00.00.00000"
PROVIDER_FILE = PROVIDER_DIR / "provider.yaml"
SERVICE_FILE = PROVIDER_DIR / "services" / "realtime_kit.yaml"
SDK_FILE = Path(__file__).resolve().parent / "data" / "sdk-5.9.0-realtime_kit-meetings.json"

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SQL_VERBS = {"select", "insert", "update", "delete", "replace"}
SECRET_FIELDS = {"access_key", "secret", "password", "private_key"}

MEETINGS_METHODS = {
    "create",
    "update_meeting_by_id",
    "replace_meeting_by_id",
    "add_participant",
    "delete_meeting_participant",
    "edit_participant",
    "refresh_participant_token",
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _load_yaml(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _pointer(doc, ref: str):
    """Resolve a local JSON pointer ('#/a/b~1c') against doc."""
    assert ref.startswith("#/"), f"only local refs are supported: {ref}"
    node = doc
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and key in node, f"unresolvable $ref {ref!r} (at {key!r})"
        node = node[key]
    return node


def _deref(doc, node):
    """Follow $ref chains until a concrete schema/object is reached."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        node = _pointer(doc, ref)
    return node


def _request_schema(doc, operation):
    body = operation.get("requestBody")
    if body is None:
        return None
    body = _deref(doc, body)
    return body["content"]["application/json"]["schema"]


def _compare(doc, sdk, ours, where):
    """Recursively check that our schema mirrors an SDK schema node."""
    ours = _deref(doc, ours)

    sdk_type = sdk.get("type")
    if sdk_type == "any":
        assert "type" not in ours, f"{where}: SDK accepts any value, manifest pins type {ours.get('type')!r}"
    elif sdk_type is not None:
        assert ours.get("type") == sdk_type, f"{where}: type {ours.get('type')!r} != SDK {sdk_type!r}"

    assert bool(ours.get("nullable", False)) == bool(sdk.get("nullable", False)), (
        f"{where}: nullable {ours.get('nullable', False)} != SDK {sdk.get('nullable', False)}"
    )

    if "enum" in sdk:
        assert ours.get("enum") == sdk["enum"], f"{where}: enum {ours.get('enum')} != SDK {sdk['enum']}"
    else:
        assert "enum" not in ours, f"{where}: manifest has an enum the SDK does not"

    if "anyOf" in sdk:
        assert "anyOf" in ours, f"{where}: SDK has anyOf, manifest does not"
        assert len(ours["anyOf"]) == len(sdk["anyOf"]), f"{where}: anyOf length differs"
        for i, (s, o) in enumerate(zip(sdk["anyOf"], ours["anyOf"])):
            _compare(doc, s, o, f"{where}.anyOf[{i}]")

    if "items" in sdk:
        assert "items" in ours, f"{where}: SDK has items, manifest does not"
        _compare(doc, sdk["items"], ours["items"], f"{where}[]")

    if "properties" in sdk:
        ours_props = ours.get("properties", {})
        assert set(ours_props) == set(sdk["properties"]), (
            f"{where}: properties differ; only in manifest: {sorted(set(ours_props) - set(sdk['properties']))}, "
            f"only in SDK: {sorted(set(sdk['properties']) - set(ours_props))}"
        )
        assert set(ours.get("required", [])) == set(sdk.get("required", [])), (
            f"{where}: required {sorted(ours.get('required', []))} != SDK {sorted(sdk.get('required', []))}"
        )
        for name, sub in sdk["properties"].items():
            _compare(doc, sub, ours_props[name], f"{where}.{name}")


def _walk_schemas(doc, schema, where, seen=None):
    """Yield (where, name, resolved-property-schema) for every property reachable."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict) and "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
    schema = _deref(doc, schema)
    for comb in ("anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(comb, [])):
            yield from _walk_schemas(doc, sub, f"{where}.{comb}[{i}]", seen)
    if "items" in schema:
        yield from _walk_schemas(doc, schema["items"], f"{where}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        yield where, name, _deref(doc, sub)
        yield from _walk_schemas(doc, sub, f"{where}.{name}", seen)


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider():
    return _load_yaml(PROVIDER_FILE)


@pytest.fixture(scope="module")
def service():
    return _load_yaml(SERVICE_FILE)


@pytest.fixture(scope="module")
def sdk():
    with SDK_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def resources(service):
    return service["components"]["x-stackQL-resources"]


def _operations(service):
    for path, item in service["paths"].items():
        for verb, op in item.items():
            if verb in HTTP_METHODS:
                yield path, verb, op


# --------------------------------------------------------------------------
# provider.yaml
# --------------------------------------------------------------------------


def test_provider_manifest_shape(provider):
    assert provider["id"] == provider["name"] == "cloudflare"
    assert provider["version"] == "v00.00.00000"
    svc = provider["providerServices"]["realtime_kit"]
    assert svc["id"] == "realtime_kit:v00.00.00000"
    assert svc["name"] == "realtime_kit"
    assert svc["preferred"] is True
    assert (PROVIDER_DIR.parents[1] / svc["service"]["$ref"]).resolve() == SERVICE_FILE.resolve()

    auth = provider["config"]["auth"]
    assert auth["type"] == "bearer"
    assert auth["credentialsenvvar"] == "CLOUDFLARE_API_TOKEN"
    (alt,) = auth["alternatives"]
    assert alt == {
        "type": "api_key",
        "keyenvvar": "CLOUDFLARE_API_KEY",
        "key_header": "X-Auth-Key",
        "emailenvvar": "CLOUDFLARE_EMAIL",
        "email_header": "X-Auth-Email",
    }
    assert provider["x-cfql-config"]["baseUrlEnvVar"] == "CLOUDFLARE_BASE_URL"


# --------------------------------------------------------------------------
# service document: OpenAPI validity and internal consistency
# --------------------------------------------------------------------------


def test_service_is_valid_openapi_30(service):
    assert service["openapi"] == "3.0.3"
    validate(service, cls=OpenAPIV30SpecValidator)  # raises on any violation


def test_servers_and_security(service):
    assert service["servers"] == [{"url": "https://api.cloudflare.com/client/v4"}]
    assert service["security"] == [{"api_token": []}]
    schemes = service["components"]["securitySchemes"]
    assert schemes["api_token"] == {**schemes["api_token"], "type": "http", "scheme": "bearer"}
    assert (schemes["api_key"]["in"], schemes["api_key"]["name"]) == ("header", "X-Auth-Key")
    assert (schemes["api_email"]["in"], schemes["api_email"]["name"]) == ("header", "X-Auth-Email")


def test_every_ref_resolves(service):
    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                _deref(service, node)
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(service, "#")


def test_operations_are_complete(service):
    op_ids = []
    for path, verb, op in _operations(service):
        where = f"{verb.upper()} {path}"
        op_ids.append(op["operationId"])
        assert op.get("summary") and op.get("description"), where
        codes = set(op["responses"])
        success = [c for c in codes if str(c).startswith("2")]
        assert len(success) == 1, f"{where}: expected one success response, got {success}"
        assert "4XX" in codes, f"{where}: missing 4XX response"
        ok = _deref(service, op["responses"][success[0]])
        assert "$ref" in ok["content"]["application/json"]["schema"], f"{where}: success schema should be a $ref"
        err = _deref(service, op["responses"]["4XX"])
        assert _deref(service, err["content"]["application/json"]["schema"]) is service["components"]["schemas"][
            "ErrorResponse"
        ]
        body = op.get("requestBody")
        if body is not None:
            assert "$ref" in body["content"]["application/json"]["schema"], f"{where}: body schema should be a $ref"

        # every {param} in the path is declared once as a required string path parameter
        params = [_deref(service, p) for p in op.get("parameters", [])]
        path_params = {p["name"]: p for p in params if p["in"] == "path"}
        expected = {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
        assert set(path_params) == expected, f"{where}: path params {sorted(path_params)} != {sorted(expected)}"
        for p in path_params.values():
            assert p["required"] is True and p["schema"] == {"type": "string"}, f"{where}: {p['name']}"
    assert len(op_ids) == len(set(op_ids)), "operationIds must be unique"
    assert len(op_ids) == 11


def test_list_query_parameters(service):
    base = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
    meetings = {_deref(service, p)["name"]: _deref(service, p) for p in service["paths"][base]["get"]["parameters"]}
    assert {n for n, p in meetings.items() if p["in"] == "query"} == {
        "page_no",
        "per_page",
        "search",
        "start_time",
        "end_time",
        "status",
    }
    assert meetings["status"]["schema"]["enum"] == ["ACTIVE", "INACTIVE"]
    parts = service["paths"][base + "/{meeting_id}/participants"]["get"]["parameters"]
    assert {_deref(service, p)["name"] for p in parts if _deref(service, p)["in"] == "query"} == {"page_no", "per_page"}


def test_schema_subset(service):
    """cfql's schema checker understands no allOf/oneOf/not; keep the manifest inside its subset."""

    def walk(node, where):
        if isinstance(node, dict):
            for bad in ("allOf", "oneOf", "not"):
                assert bad not in node, f"{where}: {bad} is outside cfql's schema subset"
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(service["components"]["schemas"], "#/components/schemas")


def test_participant_with_token_extends_participant(service):
    schemas = service["components"]["schemas"]
    base, full = schemas["Participant"], schemas["ParticipantWithToken"]
    assert set(full["properties"]) == set(base["properties"]) | {"token"}
    assert set(full["required"]) == set(base["required"]) | {"token"}
    for name, sub in base["properties"].items():
        assert full["properties"][name] == sub, name


def test_secret_fields_are_marked(service):
    """Every storage credential is flagged so the engine can redact it."""
    found = 0
    for name, schema in service["components"]["schemas"].items():
        for where, prop, sub in _walk_schemas(service, schema, name):
            if ".storage_config" in where or where.startswith("StorageConfig"):
                if prop in SECRET_FIELDS:
                    found += 1
                    assert sub.get("format") == "password", f"{where}.{prop}"
                    assert sub.get("x-cfql-secret") is True, f"{where}.{prop}"
    assert found >= 16  # 4 credentials x 4 variants, at least once


# --------------------------------------------------------------------------
# StackQL resources
# --------------------------------------------------------------------------


def test_resources_shape(resources):
    assert set(resources) == {"meetings", "kit_meetings", "meetings_participants"}
    for name, res in resources.items():
        assert res["id"] == f"cloudflare.realtime_kit.{name}"
        assert res["name"] == name
        assert res["title"]
        assert set(res["sqlVerbs"]) == SQL_VERBS, f"{name}: verbs are exactly {sorted(SQL_VERBS)} (no exec)"


def test_method_operation_refs_resolve(service, resources):
    for rname, res in resources.items():
        for mname, method in res["methods"].items():
            ref = method["operation"]["$ref"]
            assert ref.startswith("#/paths/"), f"{rname}.{mname}"
            verb = ref.rsplit("/", 1)[1]
            assert verb in HTTP_METHODS, f"{rname}.{mname}: {ref}"
            op = _pointer(service, ref)
            assert "responses" in op, f"{rname}.{mname}: {ref} is not an operation"
            code = method["response"]["openAPIDocKey"]
            assert code in op["responses"], f"{rname}.{mname}: no {code} response"
            assert method["response"]["mediaType"] == "application/json"
            has_body = "requestBody" in op
            assert ("request" in method) == has_body, f"{rname}.{mname}: request block vs requestBody"
            if has_body:
                assert method["request"] == {"mediaType": "application/json"}
                assert method["config"] == {"requestBodyTranslate": {"algorithm": "naive"}}
            else:
                assert "config" not in method, f"{rname}.{mname}"


def test_sql_verb_refs_resolve(service, resources):
    for rname, res in resources.items():
        for verb, refs in res["sqlVerbs"].items():
            for entry in refs:
                prefix = f"#/components/x-stackQL-resources/{rname}/methods/"
                assert entry["$ref"].startswith(prefix), entry
                assert _pointer(service, entry["$ref"]) is res["methods"][entry["$ref"][len(prefix):]]


def _verb_names(res, verb):
    return [e["$ref"].rsplit("/", 1)[1] for e in res["sqlVerbs"][verb]]


def test_meetings_resource_mapping(resources):
    res = resources["meetings"]
    assert set(res["methods"]) == MEETINGS_METHODS
    assert _verb_names(res, "select") == []
    assert _verb_names(res, "insert") == ["refresh_participant_token", "add_participant", "create"]
    assert _verb_names(res, "update") == ["edit_participant", "update_meeting_by_id"]
    assert _verb_names(res, "delete") == ["delete_meeting_participant"]
    assert _verb_names(res, "replace") == ["replace_meeting_by_id"]
    for mname, method in res["methods"].items():
        assert "objectKey" not in method["response"], mname
    codes = {m: res["methods"][m]["response"]["openAPIDocKey"] for m in MEETINGS_METHODS}
    assert codes == {m: ("201" if m in {"create", "add_participant"} else "200") for m in MEETINGS_METHODS}


@pytest.mark.parametrize("rname", ["kit_meetings", "meetings_participants"])
def test_select_resources_mapping(resources, service, rname):
    res = resources[rname]
    assert set(res["methods"]) == {"list_by_account", "get_by_account"}
    assert _verb_names(res, "select") == ["get_by_account", "list_by_account"]
    for verb in SQL_VERBS - {"select"}:
        assert res["sqlVerbs"][verb] == []
    for mname, method in res["methods"].items():
        assert method["operation"]["$ref"].endswith("/get"), mname
        assert method["response"]["objectKey"] == "$.data"
        assert method["response"]["openAPIDocKey"] == "200"
    list_op = _pointer(service, res["methods"]["list_by_account"]["operation"]["$ref"])
    get_op = _pointer(service, res["methods"]["get_by_account"]["operation"]["$ref"])
    list_data = _deref(service, list_op["responses"]["200"]["content"]["application/json"]["schema"])
    get_data = _deref(service, get_op["responses"]["200"]["content"]["application/json"]["schema"])
    # list yields items of the same object that get returns, so columns line up
    assert _deref(service, list_data["properties"]["data"]["items"]) is _deref(service, get_data["properties"]["data"])


# --------------------------------------------------------------------------
# meetings methods mirror the SDK
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mname", sorted(MEETINGS_METHODS))
def test_meetings_method_matches_sdk(service, resources, sdk, mname):
    sdk_method = sdk["methods"][mname]
    ref = resources["meetings"]["methods"][mname]["operation"]["$ref"]
    path, verb = ref[len("#/paths/"):].rsplit("/", 1)
    path = path.replace("~1", "/").replace("~0", "~")
    assert verb.upper() == sdk_method["http_method"]
    assert path == sdk_method["path"]

    op = _pointer(service, ref)
    ours = _request_schema(service, op)
    sdk_body = sdk_method["request_body"]
    if sdk_body is None:
        assert ours is None, f"{mname}: SDK sends no body"
        return
    assert ours is not None, f"{mname}: SDK sends a body"
    resolved = _deref(service, ours)
    assert set(resolved["properties"]) == set(sdk_body["properties"])
    assert set(resolved.get("required", [])) == set(sdk_body["required"])
    if sdk_body["required"]:
        assert _deref(service, op["requestBody"]).get("required") is True, f"{mname}: body must be required"
    _compare(service, sdk_body, ours, mname)


# Bodies shaped like the SDK's calls must validate; broken ones must not.
# (storage_config=None is legal for the SDK but a strict OAS 3.0.3 validator
# ignores `nullable` on a schema without `type`, so it is not sampled here;
# the engine honours `nullable: true` on composition schemas itself.)
SAMPLE_BODIES = [
    ("MeetingRequest", {"title": None, "record_on_start": None, "transcribe_on_end": True}, True),
    (
        "MeetingRequest",
        {
            "ai_config": {"summarization": {"summary_type": "lecture", "word_limit": 300}},
            "recording_config": {
                "video_config": {"codec": "VP9", "watermark": {"position": "left top", "size": {"width": 64}}},
                "realtimekit_bucket_config": {"enabled": False},
                "storage_config": {"type": "aws", "access_key": "AK", "region": "us-east-1", "secret": "S"},
            },
        },
        True,
    ),
    ("MeetingRequest", {"recording_config": {"storage_config": {"auth_method": "KEY", "private_key": "k"}}}, True),
    ("MeetingRequest", {"session_keep_alive_time_in_secs": 30}, False),
    ("MeetingRequest", {"recording_config": {"realtimekit_bucket_config": {}}}, False),
    ("MeetingRequest", {"recording_config": {"video_config": {"codec": "AV1"}}}, False),
    ("MeetingUpdateRequest", {"status": "INACTIVE", "title": "renamed"}, True),
    ("MeetingUpdateRequest", {"title": None}, False),
    ("AddParticipantRequest", {"custom_participant_id": "u1", "preset_name": "host", "name": None}, True),
    ("AddParticipantRequest", {"preset_name": "host"}, False),
    ("EditParticipantRequest", {"preset_name": None}, True),
]


@pytest.mark.parametrize(("schema_name", "body", "valid"), SAMPLE_BODIES)
def test_sample_bodies(service, schema_name, body, valid):
    validator = OAS30Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": service["components"]}
    )
    errors = [e.message for e in validator.iter_errors(body)]
    assert (not errors) == valid, errors or f"{schema_name} accepted an invalid body: {body}"


def test_sdk_covers_every_meetings_method(sdk):
    assert set(sdk["methods"]) == MEETINGS_METHODS

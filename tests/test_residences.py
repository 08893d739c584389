"""Residences over GraphQL: create/update/delete, listing, share codes, joining, members and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from honeydue import models
from resolvers.residences import CODE_ALPHABET, CODE_LENGTH, JOIN_ATTEMPTS_PER_HOUR
from tests.conftest import FrozenClock
from tests.plugins.domain import World, error_code, make_actor, make_world, ready_media

CREATE = """mutation($i: CreateResidenceInput!) { createResidence(input: $i) {
  residence { id name address timezone myRole members { role user { id } } } userErrors { field code } } }"""
UPDATE = """mutation($i: UpdateResidenceInput!) { updateResidence(input: $i) {
  residence { name address timezone } userErrors { field code } } }"""
DELETE = """mutation($i: DeleteResidenceInput!) { deleteResidence(input: $i) { deletedId residence { id name } } }"""
RESIDENCE = "query($id: ID!) { residence(id: $id) { id name myRole members { role joinedAt user { id } } } }"
RESIDENCES = "query($first: Int, $after: String) { residences(first: $first, after: $after) { totalCount " \
             "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name myRole } } } }"
SHARE = """mutation($i: CreateShareCodeInput!) { createShareCode(input: $i) { code role expiresAt
  userErrors { field code } } }"""
REVOKE = "mutation($i: RevokeShareCodeInput!) { revokeShareCode(input: $i) { ok } }"
JOIN = """mutation($i: JoinResidenceInput!) { joinResidence(input: $i) { residence { id myRole }
  userErrors { field code } } }"""
REMOVE = """mutation($i: RemoveMemberInput!) { removeMember(input: $i) { residence { members { user { id } } }
  userErrors { field code } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def share_code(world: World, role: str = "EDITOR", **fields: object) -> str:
    share = await models.ShareCode.create(residence=world.residence, code=fields.pop("code", "ABCDEFGHJK"), role=role,
                                          expires_at=datetime.now(UTC) + timedelta(days=1), **fields)
    return share.code


async def test_create_residence_makes_caller_owner(api, world) -> None:
    result = await api.execute(CREATE, {"i": {"name": " Cabin ", "address": "Lake", "timezone": "Europe/Paris"}},
                               token=world.outsider.token)
    payload = result["data"]["createResidence"]
    assert payload["userErrors"] == []
    assert payload["residence"]["name"] == "Cabin"
    assert payload["residence"]["timezone"] == "Europe/Paris"
    assert payload["residence"]["myRole"] == "OWNER"
    assert payload["residence"]["members"] == [{"role": "OWNER", "user": {"id": world.outsider.id}}]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "  "}, "INVALID_INPUT", "name"),
        ({"name": "x" * 201}, "INVALID_INPUT", "name"),
        ({"name": "Home", "timezone": "Mars/Olympus"}, "INVALID_TIMEZONE", "timezone"),
        ({"name": "Home", "timezone": "localtime"}, "INVALID_TIMEZONE", "timezone"),
        ({"name": "Home", "address": "x" * 1001}, "INVALID_INPUT", "address"),
    ],
)
async def test_create_residence_user_errors(api, world, fields, code, field) -> None:
    result = await api.execute(CREATE, {"i": fields}, token=world.outsider.token)
    assert result["data"]["createResidence"] == {"residence": None, "userErrors": [{"field": [field], "code": code}]}
    assert await models.Residence.all().count() == 1


async def test_anonymous_is_unauthenticated(api) -> None:
    assert error_code(await api.execute(CREATE, {"i": {"name": "x"}})) == "UNAUTHENTICATED"
    assert error_code(await api.execute(RESIDENCES)) == "UNAUTHENTICATED"


async def test_residences_lists_only_mine_with_paging(api, world) -> None:
    for name in ("B", "C"):
        await api.execute(CREATE, {"i": {"name": name}}, token=world.viewer.token)
    first = (await api.execute(RESIDENCES, {"first": 2}, token=world.viewer.token))["data"]["residences"]
    assert first["totalCount"] == 3
    assert [e["node"] for e in first["edges"]] == [{"name": "Home", "myRole": "VIEWER"},
                                                    {"name": "B", "myRole": "OWNER"}]
    assert first["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                                 "startCursor": first["edges"][0]["cursor"], "endCursor": first["edges"][1]["cursor"]}
    rest = (await api.execute(RESIDENCES, {"first": 2, "after": first["pageInfo"]["endCursor"]},
                              token=world.viewer.token))["data"]["residences"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["C"]
    assert rest["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                "startCursor": rest["edges"][0]["cursor"], "endCursor": rest["edges"][0]["cursor"]}
    # Past the end: an empty page, still after the others, with no cursors of its own.
    beyond = (await api.execute(RESIDENCES, {"first": 2, "after": rest["pageInfo"]["endCursor"]},
                                token=world.viewer.token))["data"]["residences"]
    assert beyond["edges"] == []
    assert beyond["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True, "startCursor": None,
                                  "endCursor": None}
    outsider = (await api.execute(RESIDENCES, token=world.outsider.token))["data"]["residences"]
    assert outsider["totalCount"] == 0


async def test_residence_by_id(api, world) -> None:
    result = await api.execute(RESIDENCE, {"id": world.rid}, token=world.editor.token)
    residence = result["data"]["residence"]
    assert residence["myRole"] == "EDITOR"
    assert [m["role"] for m in residence["members"]] == ["OWNER", "EDITOR", "VIEWER"]
    for unknown in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert error_code(await api.execute(RESIDENCE, {"id": unknown}, token=world.editor.token)) == "NOT_FOUND"


async def test_update_residence(api, world) -> None:
    result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "name": "House", "timezone": "Asia/Tokyo"}},
                               token=world.owner.token)
    assert result["data"]["updateResidence"] == {
        "residence": {"name": "House", "address": "1 Main St", "timezone": "Asia/Tokyo"}, "userErrors": []}
    bad = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "timezone": "Nowhere"}}, token=world.owner.token)
    assert bad["data"]["updateResidence"]["userErrors"] == [{"field": ["timezone"], "code": "INVALID_TIMEZONE"}]
    assert (await models.Residence.get(id=world.residence.id)).timezone == "Asia/Tokyo"


async def test_delete_residence_cascades(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="t")
    photo = await ready_media(world.editor, models.MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    result = await api.execute(DELETE, {"i": {"residenceId": world.rid}}, token=world.owner.token)
    assert result["data"]["deleteResidence"] == {"deletedId": world.rid, "residence": {"id": world.rid,
                                                                                       "name": "Home"}}
    assert await models.Residence.all().count() == 0
    assert await models.Task.all().count() == 0
    assert await models.Membership.all().count() == 0
    assert (await models.Media.get(id=photo.id)).status == models.MediaStatus.REJECTED


# Who may do what: OWNER manages the residence and its members; the rest are refused; outsiders see nothing.
OWNER_ONLY = [
    (UPDATE, lambda w, role: {"i": {"residenceId": w.rid, "name": "X"}}),
    (DELETE, lambda w, role: {"i": {"residenceId": w.rid}}),
    (SHARE, lambda w, role: {"i": {"residenceId": w.rid, "role": "VIEWER"}}),
    # Removing someone else (removing yourself is leaving, which every member may do).
    (REMOVE, lambda w, role: {"i": {"residenceId": w.rid, "userId": (w.editor if role == "viewer" else w.viewer).id}}),
]


REFUSED = [("outsider", "NOT_FOUND"), ("viewer", "FORBIDDEN"), ("editor", "FORBIDDEN")]


@pytest.mark.parametrize(("query", "variables"), OWNER_ONLY, ids=["update", "delete", "share", "remove"])
async def test_owner_only_operations(api, world, query, variables) -> None:
    for role, expected in REFUSED:
        result = await api.execute(query, variables(world, role), token=world.actor(role).token)
        assert error_code(result) == expected, (role, result)
        assert await models.Residence.filter(id=world.residence.id, name="Home").exists()
        assert await models.Membership.filter(residence_id=world.residence.id).count() == 3
        assert await models.ShareCode.all().count() == 0
    assert error_code(await api.execute(query, variables(world, "owner"), token=world.owner.token)) is None


async def test_revoke_share_code_roles(api, world) -> None:
    code = await share_code(world)
    for role, expected in REFUSED:
        assert error_code(await api.execute(REVOKE, {"i": {"code": code}}, token=world.actor(role).token)) == expected
        assert (await models.ShareCode.get(code=code)).revoked_at is None
    assert error_code(await api.execute(REVOKE, {"i": {"code": code}}, token=world.owner.token)) is None
    assert (await models.ShareCode.get(code=code)).revoked_at is not None


async def test_members_may_read_outsiders_may_not(api, world) -> None:
    for role in ("owner", "editor", "viewer"):
        assert error_code(await api.execute(RESIDENCE, {"id": world.rid}, token=world.actor(role).token)) is None
    assert error_code(await api.execute(RESIDENCE, {"id": world.rid}, token=world.outsider.token)) == "NOT_FOUND"


async def test_share_code_join_flow(api, world, frozen_now: FrozenClock) -> None:
    created = (await api.execute(SHARE, {"i": {"residenceId": world.rid, "role": "EDITOR", "expiresIn": 3600}},
                                 token=world.owner.token))["data"]["createShareCode"]
    code = created["code"]
    assert created["userErrors"] == [] and created["role"] == "EDITOR"
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    expires = datetime.fromisoformat(created["expiresAt"])
    assert expires == frozen_now.now + timedelta(hours=1)
    typed = f" {code[:5].lower()}-{code[5:]} "  # what a person types from a message: case and dashes ignored
    joined = (await api.execute(JOIN, {"i": {"code": typed}}, token=world.outsider.token))["data"]["joinResidence"]
    assert joined == {"residence": {"id": world.rid, "myRole": "EDITOR"}, "userErrors": []}
    again = (await api.execute(JOIN, {"i": {"code": code}}, token=world.outsider.token))["data"]["joinResidence"]
    assert again["userErrors"] == [{"field": ["code"], "code": "ALREADY_MEMBER"}]


async def test_share_codes_are_distinct(api, world) -> None:
    codes = set()
    for _ in range(5):
        result = await api.execute(SHARE, {"i": {"residenceId": world.rid}}, token=world.owner.token)
        codes.add(result["data"]["createShareCode"]["code"])
    assert len(codes) == 5


@pytest.mark.parametrize("expires_in", [0, 60, 31 * 24 * 3600, -5])
async def test_share_code_expiry_bounds(api, world, expires_in) -> None:
    result = await api.execute(SHARE, {"i": {"residenceId": world.rid, "expiresIn": expires_in}},
                               token=world.owner.token)
    assert result["data"]["createShareCode"]["userErrors"] == [{"field": ["expiresIn"], "code": "INVALID_INPUT"}]


@pytest.mark.parametrize("state", ["unknown", "expired", "revoked"])
async def test_join_with_bad_code(api, world, state) -> None:
    now = datetime.now(UTC)
    code = await share_code(world, revoked_at=now if state == "revoked" else None)
    if state == "expired":
        await models.ShareCode.filter(code=code).update(expires_at=now - timedelta(seconds=1))
    typed = "ZZZZZZZZZZ" if state == "unknown" else code
    result = await api.execute(JOIN, {"i": {"code": typed}}, token=world.outsider.token)
    assert result["data"]["joinResidence"] == {"residence": None,
                                               "userErrors": [{"field": ["code"], "code": "INVALID_CODE"}]}
    assert not await models.Membership.filter(user_id=world.outsider.user.id).exists()


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_join_attempts_are_limited(api, world) -> None:
    for _ in range(JOIN_ATTEMPTS_PER_HOUR):
        result = await api.execute(JOIN, {"i": {"code": "WRONGCODE0"}}, token=world.outsider.token)
        assert result["data"]["joinResidence"]["userErrors"][0]["code"] == "INVALID_CODE"
    code = await share_code(world)
    assert error_code(await api.execute(JOIN, {"i": {"code": code}}, token=world.outsider.token)) == "RATE_LIMITED"


async def test_last_owner_cannot_leave_or_be_removed(api, world) -> None:
    leave = {"i": {"residenceId": world.rid, "userId": world.owner.id}}
    result = await api.execute(REMOVE, leave, token=world.owner.token)
    assert result["data"]["removeMember"]["userErrors"] == [{"field": ["userId"], "code": "LAST_OWNER"}]
    # With a second owner, the first may leave; the payload has no residence they can no longer see.
    await models.Membership.filter(user_id=world.editor.user.id).update(role="OWNER")
    result = await api.execute(REMOVE, leave, token=world.owner.token)
    assert result["data"]["removeMember"] == {"residence": None, "userErrors": []}
    # Now the editor-turned-owner is the last one and cannot be removed by anyone.
    result = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": world.editor.id}},
                               token=world.editor.token)
    assert result["data"]["removeMember"]["userErrors"][0]["code"] == "LAST_OWNER"


async def test_viewer_may_leave_and_loses_assignments(api, world) -> None:
    task = await models.Task.create(residence=world.residence, title="t", assignee=world.viewer.user)
    result = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": world.viewer.id}},
                               token=world.viewer.token)
    assert result["data"]["removeMember"] == {"residence": None, "userErrors": []}
    assert (await models.Task.get(id=task.id)).assignee_id is None  # type: ignore[attr-defined]
    assert error_code(await api.execute(RESIDENCE, {"id": world.rid}, token=world.viewer.token)) == "NOT_FOUND"


async def test_owner_removes_member(api, world) -> None:
    result = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": world.editor.id}},
                               token=world.owner.token)
    members = result["data"]["removeMember"]["residence"]["members"]
    assert {m["user"]["id"] for m in members} == {world.owner.id, world.viewer.id}
    stranger = await make_actor("stranger")
    for user_id in (stranger.id, "junk"):
        result = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": user_id}},
                                   token=world.owner.token)
        assert result["data"]["removeMember"]["userErrors"] == [{"field": ["userId"], "code": "NOT_FOUND"}]
    # For someone outside the residence a malformed member ID is like an unknown one: the residence is
    # NOT_FOUND (a malformed ID was a user error before the residence was even looked at).
    for user_id in (stranger.id, "junk"):
        result = await api.execute(REMOVE, {"i": {"residenceId": world.rid, "userId": user_id}},
                                   token=world.outsider.token)
        assert error_code(result) == "NOT_FOUND"

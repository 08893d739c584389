"""Admin over GraphQL (users, user, stats; FORBIDDEN for everyone else) and ``create_admin``."""

from __future__ import annotations

import pytest

from honeydue import models
from honeydue.models import MediaPurpose, MediaStatus
from honeydue.passwords import verify_password
from honeydue.user_errors import InputRejected
from resolvers.admin import AdminOutcome, create_admin
from tests.plugins.domain import Actor, error_code, make_actor, make_world, ready_media

USERS = """query($search: String, $first: Int, $after: String) { admin { users(search: $search, first: $first,
  after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id email displayName isAdmin } } } } }"""
USER = "query($id: ID!) { admin { user(id: $id) { id email notificationPreferences { type } } } }"
STATS = "{ admin { stats { users residences tasks media mediaBytes pendingUploads } } }"
EMAILS = """query($kind: String, $status: EmailStatus, $first: Int, $after: String) { admin {
  emails(kind: $kind, status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind to status attempts lastError createdAt sentAt } } } } }"""


@pytest.fixture
async def admin(settings) -> Actor:
    return await make_actor("root", is_admin=True)


async def test_users_search_and_paging(api, admin) -> None:
    for name in ("alice", "bob", "alfred"):
        await make_actor(name)
    everyone = (await api.execute(USERS, {"first": 2}, token=admin.token))["data"]["admin"]["users"]
    assert everyone["totalCount"] == 4 and everyone["pageInfo"]["hasNextPage"] is True
    rest = (await api.execute(USERS, {"first": 2, "after": everyone["pageInfo"]["endCursor"]}, token=admin.token))
    names = [e["node"]["displayName"] for e in everyone["edges"] + rest["data"]["admin"]["users"]["edges"]]
    assert names == ["Root", "Alice", "Bob", "Alfred"]
    found = (await api.execute(USERS, {"search": "AL"}, token=admin.token))["data"]["admin"]["users"]
    assert sorted(e["node"]["displayName"] for e in found["edges"]) == ["Alfred", "Alice"]


async def test_user_by_id(api, admin) -> None:
    other = await make_actor("other")
    result = await api.execute(USER, {"id": other.id}, token=admin.token)
    assert result["data"]["admin"]["user"]["email"] == other.user.email
    assert len(result["data"]["admin"]["user"]["notificationPreferences"]) == len(models.NotificationType)
    for missing in ("junk", "00000000-0000-0000-0000-000000000000"):
        assert error_code(await api.execute(USER, {"id": missing}, token=admin.token)) == "NOT_FOUND"


async def test_stats(api, admin) -> None:
    world = await make_world()
    task = await models.Task.create(residence=world.residence, title="t")
    await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id)
    await ready_media(world.editor, MediaPurpose.COMPLETION_PHOTO, task.id, world.residence.id, MediaStatus.PENDING)
    stats = (await api.execute(STATS, token=admin.token))["data"]["admin"]["stats"]
    assert stats == {"users": 5, "residences": 1, "tasks": 1, "media": 2, "mediaBytes": 2468.0, "pendingUploads": 1}


async def test_emails_lists_the_delivery_log_newest_first_with_filters(api, admin) -> None:
    from datetime import UTC, datetime, timedelta

    from honeydue.models import EmailDelivery, EmailStatus

    now = datetime.now(UTC)
    rows = [
        ("welcome", "a@example.test", EmailStatus.SENT, 1, None, now),
        ("add_home", "b@example.test", EmailStatus.FAILED, 1, "550 5.1.1 No such user", None),
        ("welcome", "c@example.test", EmailStatus.QUEUED, 2, "451 4.3.0 Busy", None),
    ]
    for age, (kind, to, status, attempts, error, sent_at) in enumerate(rows):
        row = await EmailDelivery.create(kind=kind, to=to, status=status, attempts=attempts, last_error=error,
                                         sent_at=sent_at, next_attempt_at=now)
        await EmailDelivery.filter(id=row.id).update(created_at=now - timedelta(minutes=10 - age))

    page = (await api.execute(EMAILS, {"first": 2}, token=admin.token))["data"]["admin"]["emails"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["to"] for e in page["edges"]] == ["c@example.test", "b@example.test"]  # newest first
    rest = await api.execute(EMAILS, {"after": page["pageInfo"]["endCursor"]}, token=admin.token)
    [last] = rest["data"]["admin"]["emails"]["edges"]
    assert {k: v for k, v in last["node"].items() if k not in ("id", "createdAt")} == {
        "kind": "welcome", "to": "a@example.test", "status": "SENT", "attempts": 1, "lastError": None,
        "sentAt": now.isoformat()}

    def tos(result: dict) -> list[str]:
        return [e["node"]["to"] for e in result["data"]["admin"]["emails"]["edges"]]

    assert tos(await api.execute(EMAILS, {"kind": "welcome"}, token=admin.token)) == ["c@example.test",
                                                                                      "a@example.test"]
    failed = await api.execute(EMAILS, {"status": "FAILED"}, token=admin.token)
    assert tos(failed) == ["b@example.test"]
    assert failed["data"]["admin"]["emails"]["edges"][0]["node"]["lastError"] == "550 5.1.1 No such user"
    assert tos(await api.execute(EMAILS, {"kind": "welcome", "status": "QUEUED"}, token=admin.token)) == [
        "c@example.test"]
    assert tos(await api.execute(EMAILS, {"kind": "never-sent" * 20}, token=admin.token)) == []
    assert error_code(await api.execute(EMAILS, {"kind": "wel\u0000come"}, token=admin.token)) == "INVALID_INPUT"


@pytest.mark.parametrize("query", [USERS, STATS, USER, EMAILS])
async def test_non_admins_are_forbidden(api, admin, query) -> None:
    plain = await make_actor("plain")
    variables = {"id": admin.id} if query is USER else {}
    assert error_code(await api.execute(query, variables, token=plain.token)) == "FORBIDDEN"
    assert error_code(await api.execute(query, variables)) == "UNAUTHENTICATED"


async def test_create_admin(settings) -> None:
    user, outcome = await create_admin(" Boss@Example.com ", "correct horse battery", "Boss")
    assert outcome is AdminOutcome.CREATED
    stored = await models.User.get(id=user.id)
    assert (stored.email, stored.display_name, stored.is_admin) == ("boss@example.com", "Boss", True)
    assert verify_password(stored.password_hash, "correct horse battery")


async def test_create_admin_promotes_an_existing_account(settings) -> None:
    taken = await models.User.create(email="taken@example.com", password_hash="kept", display_name="Taken")
    user, outcome = await create_admin("Taken@example.com", None, "Ignored")
    stored = await models.User.get(id=taken.id)
    assert user.id == taken.id and stored.is_admin is True and outcome is AdminOutcome.PROMOTED
    assert (stored.password_hash, stored.display_name) == ("kept", "Taken")
    assert await models.User.all().count() == 1


async def test_create_admin_with_a_password_sets_it_on_an_existing_account(settings) -> None:
    taken = await make_actor("taken")
    user, outcome = await create_admin(taken.user.email, "another password!", "Ignored")
    stored = await models.User.get(id=taken.user.id)
    assert user.id == taken.user.id and stored.is_admin is True and outcome is AdminOutcome.PROMOTED_PASSWORD_SET
    assert verify_password(stored.password_hash, "another password!")
    assert not await models.AuthToken.filter(user_id=taken.user.id, revoked_at=None).exists()
    with pytest.raises(InputRejected):  # a weak one changes nothing
        await create_admin(taken.user.email, "short", "Ignored")
    assert verify_password((await models.User.get(id=taken.user.id)).password_hash, "another password!")


@pytest.mark.e2e
async def test_createadmin_command(settings, tmp_path) -> None:
    """`honeydue createadmin` as operators run it: exit 0 and an admin; bad input exits 1 with one line."""
    import asyncio
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "HONEYDUE_ADMIN_PASSWORD"}
    env.update({"DATABASE_URL": settings.effective_database_url, "HONEYDUE_VAR_DIR": str(tmp_path),
                "LOG_FORMAT": "text"})

    async def run(*args: str) -> tuple[int, str]:
        # No terminal: standard input is /dev/null, as under kubectl exec without -t, cron or CI.
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "honeydue.cli", "createadmin", *args,
                                                    env=env, stdin=subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        return proc.returncode or 0, out.decode()

    code, out = await run("ops@example.com", "--password", "correct horse battery")
    assert code == 0 and "ops@example.com" in out and "created" in out, out
    assert await models.User.filter(email="ops@example.com", is_admin=True).exists()
    code, out = await run("ops2@example.com", "--password", "short")
    assert code == 1 and "createadmin:" in out and "characters" in out, out
    assert not await models.User.filter(email="ops2@example.com").exists()

    code, out = await run("ops3@example.com")
    assert code == 1 and "Traceback" not in out and "EOFError" not in out, out
    assert out.strip().splitlines() == [
        "createadmin: ops3@example.com is a new account and there is no terminal to ask for its password: "
        "pass --password PASSWORD or set HONEYDUE_ADMIN_PASSWORD"]
    assert not await models.User.filter(email="ops3@example.com").exists()

    plain = await make_actor("plain")
    code, out = await run(plain.user.email)  # an existing account needs no password: promoted as it is
    assert code == 0 and "password unchanged" in out, out
    stored = await models.User.get(id=plain.user.id)
    assert stored.is_admin and stored.password_hash == plain.user.password_hash
    code, out = await run(plain.user.email, "--password", "a brand new password")
    assert code == 0 and "password set" in out, out
    assert verify_password((await models.User.get(id=plain.user.id)).password_hash, "a brand new password")


@pytest.mark.parametrize(
    ("email", "password", "name", "code"),
    [
        ("nope", "correct horse battery", "Boss", "INVALID_EMAIL"),
        ("boss@example.com", "short", "Boss", "WEAK_PASSWORD"),
        ("boss@example.com", "correct horse battery", " ", "INVALID_INPUT"),
    ],
)
async def test_create_admin_rejects_bad_input(settings, email, password, name, code) -> None:
    await models.User.create(email="taken@example.com", password_hash="x", display_name="Taken")
    with pytest.raises(InputRejected) as rejected:
        await create_admin(email, password, name)
    assert rejected.value.errors[0].code == code
    assert not await models.User.filter(is_admin=True).exists()

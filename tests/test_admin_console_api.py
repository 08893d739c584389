"""The admin console's GraphQL side: disabling accounts (sign-in, API and gateway refuse them), the audited
actions, the last-admin rule, admin session lifetimes, residences, jobs, daily figures and the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from honeydue import models
from honeydue.models import MediaPurpose
from honeydue.passwords import hash_password
from tests.plugins.domain import Actor, error_code, make_actor, make_world, ready_media

PASSWORD = "correct horse battery"
DISABLE = """mutation($i: AdminSetUserDisabledInput!) { adminSetUserDisabled(input: $i) {
  user { id disabled } userErrors { code field message } } }"""
RESET = """mutation($i: AdminSendPasswordResetInput!) { adminSendPasswordReset(input: $i) {
  user { id } userErrors { code } } }"""
REVOKE = """mutation($i: AdminRevokeSessionsInput!) { adminRevokeSessions(input: $i) {
  revokedCount userErrors { code } } }"""
SET_ADMIN = """mutation($i: AdminSetAdminInput!) { adminSetAdmin(input: $i) {
  user { isAdmin } userErrors { code } } }"""
DELETE = """mutation($i: AdminDeleteUserInput!) { adminDeleteUser(input: $i) { ok userErrors { code } } }"""
RUN_JOB = """mutation($i: AdminRunJobInput!) { adminRunJob(input: $i) { queued userErrors { code field } } }"""
LOGIN = """mutation($i: LoginInput!) { login(input: $i) { token userErrors { code message } } }"""
AUDIT = """query($actorId: ID, $targetId: ID, $first: Int) { admin { auditLog(actorId: $actorId, targetId: $targetId,
  first: $first) { totalCount pageInfo { hasNextPage } edges { node { id createdAt action targetType targetId reason
  details actor { id email } } } } } }"""


@pytest.fixture
async def admin(settings) -> Actor:
    return await make_actor("root", is_admin=True)


async def _with_password(actor: Actor) -> Actor:
    actor.user.password_hash = hash_password(PASSWORD)
    await actor.user.save(update_fields=["password_hash"])
    return actor


async def test_disabled_user_cannot_sign_in_and_their_tokens_are_refused_everywhere(api, admin) -> None:
    world = await make_world()
    victim = await _with_password(world.editor)
    photo = await ready_media(victim, MediaPurpose.AVATAR, victim.user.id, None)
    storage = api.http._transport.app.state.services.storage  # type: ignore[attr-defined]
    await storage.put_bytes(photo.key, b"x" * photo.size, "image/jpeg")
    signed = (await api.execute("query($id: ID!) { media(id: $id) { url } }", {"id": str(photo.id)},
                                token=victim.token))["data"]["media"]["url"]

    result = await api.execute(DISABLE, {"i": {"userId": victim.id, "disabled": True, "reason": "spam"}},
                               token=admin.token)
    assert result["data"]["adminSetUserDisabled"] == {"user": {"id": victim.id, "disabled": True}, "userErrors": []}

    assert error_code(await api.execute("{ me { id } }", token=victim.token)) == "UNAUTHENTICATED"
    gateway = await api.http.get(f"/media/{photo.key}", headers={"Authorization": f"Bearer {victim.token}"})
    assert gateway.status_code == 401
    # A signed link handed out before keeps working until it expires (documented).
    assert (await api.http.get(signed)).status_code == 200
    # The right password hears that the account is disabled; a wrong one hears only "incorrect".
    right = (await api.execute(LOGIN, {"i": {"email": victim.user.email, "password": PASSWORD}}))["data"]["login"]
    assert right["token"] is None and right["userErrors"][0]["code"] == "ACCOUNT_DISABLED"
    wrong = (await api.execute(LOGIN, {"i": {"email": victim.user.email, "password": "not it at all"}}))
    assert wrong["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"

    # A reset link signs in over the API: refused for a disabled account, nothing changed (the link stays usable).
    from honeydue import account_tokens

    raw = await account_tokens.issue(victim.user, models.AccountTokenPurpose.RESET, timedelta(hours=1))
    reset = await api.execute("""mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { token
      userErrors { code } } }""", {"i": {"token": raw, "newPassword": "a brand new password"}})
    assert reset["data"]["resetPassword"] == {"token": None, "userErrors": [{"code": "ACCOUNT_DISABLED"}]}

    enabled = await api.execute(DISABLE, {"i": {"userId": victim.id, "disabled": False}}, token=admin.token)
    assert enabled["data"]["adminSetUserDisabled"]["user"]["disabled"] is False
    # The old session was ended, not only refused: enabling the account does not bring it back.
    assert error_code(await api.execute("{ me { id } }", token=victim.token)) == "UNAUTHENTICATED"
    again = (await api.execute(LOGIN, {"i": {"email": victim.user.email, "password": PASSWORD}}))["data"]["login"]
    assert again["token"] and again["userErrors"] == []
    reset = await api.execute("""mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { userErrors { code } }
      }""", {"i": {"token": raw, "newPassword": "a brand new password"}})
    assert reset["data"]["resetPassword"]["userErrors"] == []  # the same link works once enabled

    log = (await api.execute(AUDIT, {"targetId": victim.id}, token=admin.token))["data"]["admin"]["auditLog"]
    assert [e["node"]["action"] for e in log["edges"]] == ["adminSetUserDisabled", "adminSetUserDisabled"]
    newest, oldest = (e["node"] for e in log["edges"])
    assert oldest["reason"] == "spam" and json.loads(oldest["details"])["disabled"] is True
    assert json.loads(newest["details"])["disabled"] is False
    assert oldest["actor"] == {"id": admin.id, "email": admin.user.email}
    assert oldest["targetType"] == "User"


async def test_an_admin_cannot_disable_themselves_nor_lose_the_last_admin(api, admin) -> None:
    own = await api.execute(DISABLE, {"i": {"userId": admin.id, "disabled": True}}, token=admin.token)
    assert own["data"]["adminSetUserDisabled"]["userErrors"][0]["code"] == "INVALID_INPUT"
    demote = await api.execute(SET_ADMIN, {"i": {"userId": admin.id, "admin": False}}, token=admin.token)
    assert demote["data"]["adminSetAdmin"]["userErrors"][0]["code"] == "LAST_ADMIN"
    assert (await models.User.get(id=admin.user.id)).is_admin

    second = await make_actor("second")
    promoted = await api.execute(SET_ADMIN, {"i": {"userId": second.id, "admin": True}}, token=admin.token)
    assert promoted["data"]["adminSetAdmin"] == {"user": {"isAdmin": True}, "userErrors": []}
    demoted = await api.execute(SET_ADMIN, {"i": {"userId": admin.id, "admin": False}}, token=second.token)
    assert demoted["data"]["adminSetAdmin"] == {"user": {"isAdmin": False}, "userErrors": []}
    # Now `second` is the last admin: the former admin is refused at once.
    assert error_code(await api.execute("{ admin { stats { users } } }", token=admin.token)) == "FORBIDDEN"
    last = await api.execute(DELETE, {"i": {"userId": second.id}}, token=second.token)
    assert last["data"]["adminDeleteUser"]["userErrors"][0]["code"] == "INVALID_INPUT"
    reason = await api.execute(DISABLE, {"i": {"userId": admin.id, "disabled": True, "reason": "x" * 501}},
                               token=second.token)
    assert reason["data"]["adminSetUserDisabled"]["userErrors"][0]["field"] == ["reason"]
    missing = await api.execute(DISABLE, {"i": {"userId": "nope", "disabled": True}}, token=second.token)
    assert error_code(missing) == "NOT_FOUND"


async def test_admin_tokens_expire_after_admin_token_ttl_hours(api, admin, settings) -> None:
    await _with_password(admin)
    before = datetime.now(UTC)
    token = (await api.execute(LOGIN, {"i": {"email": admin.user.email, "password": PASSWORD}}))["data"]["login"]
    from honeydue.tokens import hash_token

    row = await models.AuthToken.get(token_hash=hash_token(token["token"]))
    assert timedelta(hours=11) < row.expires_at - before <= timedelta(hours=settings.admin_token_ttl_hours, minutes=1)
    # Promoting someone caps their open sessions to the admin lifetime too.
    other = await _with_password(await make_actor("other"))
    long = (await api.execute(LOGIN, {"i": {"email": other.user.email, "password": PASSWORD}}))["data"]["login"]
    row = await models.AuthToken.get(token_hash=hash_token(long["token"]))
    assert row.expires_at - before > timedelta(days=settings.token_ttl_days - 1)
    await api.execute(SET_ADMIN, {"i": {"userId": other.id, "admin": True}}, token=admin.token)
    await row.refresh_from_db()
    assert row.expires_at - before <= timedelta(hours=settings.admin_token_ttl_hours, minutes=1)


async def test_reset_revoke_and_delete_are_done_and_audited(api, admin) -> None:
    world = await make_world()
    target = world.owner
    sent = await api.execute(RESET, {"i": {"userId": target.id}}, token=admin.token)
    assert sent["data"]["adminSendPasswordReset"]["userErrors"] == []
    email = await models.EmailDelivery.get(user_id=target.user.id, kind="password_reset")
    assert email.to == target.user.email
    assert await models.AccountToken.filter(user_id=target.user.id, purpose="RESET").count() == 1

    revoked = await api.execute(REVOKE, {"i": {"userId": target.id}}, token=admin.token)
    assert revoked["data"]["adminRevokeSessions"] == {"revokedCount": 1, "userErrors": []}
    assert error_code(await api.execute("{ me { id } }", token=target.token)) == "UNAUTHENTICATED"

    deleted = await api.execute(DELETE, {"i": {"userId": target.id, "reason": "asked by email"}}, token=admin.token)
    assert deleted["data"]["adminDeleteUser"] == {"ok": True, "userErrors": []}
    assert not await models.User.filter(id=target.user.id).exists()
    # The same durable purge as deleteAccount: a record of the user's files to remove.
    assert await models.AccountPurge.filter(user_id=target.user.id).exists()
    # The shared residence passed to another member, as deleteAccount does.
    assert await models.Membership.filter(residence_id=world.residence.id, role="OWNER").exists()

    log = (await api.execute(AUDIT, {"targetId": target.id}, token=admin.token))["data"]["admin"]["auditLog"]
    assert [e["node"]["action"] for e in log["edges"]] == [
        "adminDeleteUser", "adminRevokeSessions", "adminSendPasswordReset"]
    assert log["edges"][0]["node"]["reason"] == "asked by email"
    assert json.loads(log["edges"][0]["node"]["details"])["email"] == target.user.email
    mine = (await api.execute(AUDIT, {"actorId": admin.id, "first": 2}, token=admin.token))["data"]["admin"]
    assert mine["auditLog"]["totalCount"] == 3 and mine["auditLog"]["pageInfo"]["hasNextPage"] is True
    nobody = (await api.execute(AUDIT, {"actorId": "junk"}, token=admin.token))["data"]["admin"]["auditLog"]
    assert nobody["totalCount"] == 0


async def test_run_job_sends_a_periodic_job_and_refuses_unknown_names(api, admin, monkeypatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr("honeydue.jobs.enqueue", lambda name, *args: sent.append(name) or True)
    ok = await api.execute(RUN_JOB, {"i": {"name": "reconcile_storage"}}, token=admin.token)
    assert ok["data"]["adminRunJob"] == {"queued": True, "userErrors": []} and sent == ["reconcile_storage"]
    bad = await api.execute(RUN_JOB, {"i": {"name": "purge_account"}}, token=admin.token)
    assert bad["data"]["adminRunJob"]["userErrors"] == [{"code": "UNKNOWN_JOB", "field": ["name"]}]
    assert sent == ["reconcile_storage"]
    log = (await api.execute(AUDIT, {"targetId": "reconcile_storage"}, token=admin.token))["data"]["admin"]
    assert [e["node"]["targetType"] for e in log["auditLog"]["edges"]] == ["Job"]


async def test_jobs_show_each_periodic_job_with_its_recorded_runs(api, admin) -> None:
    from workers.job_runs import recorded

    async def fails() -> None:
        raise RuntimeError("bucket unreachable")

    async def reports() -> dict:
        return {"objects": 3, "orphans": 0}

    await recorded("reconcile_storage", reports)()
    with pytest.raises(RuntimeError):
        await recorded("backup_storage", fails)()
    jobs = (await api.execute("{ admin { jobs { name cron nextRunAt lastStartedAt lastSuccessAt lastErrorAt "
                              "lastError lastReport } } }", token=admin.token))["data"]["admin"]["jobs"]
    by_name = {j["name"]: j for j in jobs}
    assert "send_due_reminders" in by_name and all(j["nextRunAt"] for j in jobs)
    assert by_name["send_due_reminders"]["lastStartedAt"] is None
    reconcile = by_name["reconcile_storage"]
    assert reconcile["lastSuccessAt"] and reconcile["lastError"] is None
    assert json.loads(reconcile["lastReport"]) == {"objects": 3, "orphans": 0}
    backup = by_name["backup_storage"]
    assert backup["lastErrorAt"] and backup["lastSuccessAt"] is None
    assert backup["lastError"] == "RuntimeError: bucket unreachable"


async def test_residences_search_detail_and_user_facts(api, admin) -> None:
    world = await make_world()
    await models.Residence.filter(id=world.residence.id).update(name="Maple House")
    await models.Residence.create(name="Elsewhere")
    await models.Task.create(residence=world.residence, title="Gutters")
    await ready_media(world.editor, MediaPurpose.DOCUMENT_FILE, world.residence.id, world.residence.id)
    found = (await api.execute('{ admin { residences(search: "maple") { totalCount edges { node { id name '
                               'taskCount memberCount tasks { title } members { role user { email } } storage { '
                               'purpose '
                               'count bytes } } } } } }', token=admin.token))["data"]["admin"]["residences"]
    assert found["totalCount"] == 1
    node = found["edges"][0]["node"]
    assert node["name"] == "Maple House" and node["taskCount"] == 1 and node["tasks"] == [{"title": "Gutters"}]
    assert node["memberCount"] == 3
    assert sorted(m["role"] for m in node["members"]) == ["EDITOR", "OWNER", "VIEWER"]
    assert node["storage"] == [{"purpose": "DOCUMENT_FILE", "count": 1, "bytes": 1234.0}]
    one = await api.execute("query($id: ID!) { admin { residence(id: $id) { name memberCount taskCount } } }",
                            {"id": node["id"]}, token=admin.token)
    assert one["data"]["admin"]["residence"] == {"name": "Maple House", "memberCount": 3, "taskCount": 1}
    every = (await api.execute("{ admin { residences { edges { node { name memberCount taskCount } } } } }",
                               token=admin.token))["data"]["admin"]["residences"]["edges"]
    assert {e["node"]["name"]: (e["node"]["memberCount"], e["node"]["taskCount"]) for e in every} == {
        "Maple House": (3, 1), "Elsewhere": (0, 0)}
    assert error_code(await api.execute('{ admin { residence(id: "x") { name } } }', token=admin.token)) \
        == "NOT_FOUND"
    facts = (await api.execute("query($id: ID!) { admin { userFacts(id: $id) { user { email disabled } disabledAt "
                               "memberships { role residence { name } } storage { purpose count } } "
                               "userEmails(id: $id) { kind } } }", {"id": world.editor.id},
                               token=admin.token))["data"]["admin"]
    assert facts["userFacts"]["memberships"] == [{"role": "EDITOR", "residence": {"name": "Maple House"}}]
    assert facts["userFacts"]["storage"] == [{"purpose": "DOCUMENT_FILE", "count": 1}]
    assert facts["userFacts"]["user"]["disabled"] is False and facts["userEmails"] == []


async def test_timeseries_and_dashboard_counts(api, admin) -> None:
    world = await make_world()
    task = await models.Task.create(residence=world.residence, title="t")
    now = datetime.now(UTC)
    for days_ago in (0, 0, 2, 40):
        await models.TaskCompletion.create(task=task, completed_by=world.owner.user,
                                           completed_at=now - timedelta(days=days_ago))
    await models.User.filter(id=world.viewer.user.id).update(created_at=now - timedelta(days=3), email_verified=True)
    series = (await api.execute("{ admin { s: timeseries(metric: SIGNUPS, days: 5) { day count } "
                                "c: timeseries(metric: COMPLETIONS, days: 90) { day count } } }",
                                token=admin.token))["data"]["admin"]
    assert len(series["s"]) == 5 and series["s"][-1]["day"] == now.date().isoformat()
    assert series["s"][-1]["count"] == 4 and series["s"][1]["count"] == 1  # four made today, one 3 days ago
    completions = series["c"]
    assert len(completions) == 90 and sum(d["count"] for d in completions) == 4
    assert completions[-1]["count"] == 2 and completions[-3]["count"] == 1
    for days in (0, 367):
        result = await api.execute(f"{{ admin {{ timeseries(metric: SIGNUPS, days: {days}) {{ count }} }} }}",
                                   token=admin.token)
        assert error_code(result) == "INVALID_INPUT"
    stats = (await api.execute("{ admin { stats { users verifiedUsers admins disabledUsers completions7Days "
                               "completions30Days mediaByPurpose { purpose count bytes } } } }",
                               token=admin.token))["data"]["admin"]["stats"]
    assert stats == {"users": 5, "verifiedUsers": 1, "admins": 1, "disabledUsers": 0, "completions7Days": 3,
                     "completions30Days": 3, "mediaByPurpose": []}


async def test_every_admin_operation_is_forbidden_to_non_admins(api) -> None:
    someone = await make_actor("someone")
    for document, variables in [
        ("{ admin { auditLog { totalCount } } }", {}),
        ("{ admin { jobs { name } } }", {}),
        (DISABLE, {"i": {"userId": someone.id, "disabled": True}}),
        (RUN_JOB, {"i": {"name": "nope"}}),
    ]:
        assert error_code(await api.execute(document, variables, token=someone.token)) == "FORBIDDEN"


async def test_deliveries_channels_and_variants(api, admin) -> None:
    from honeydue.models import DeliveryKind, DeliveryStatus, MediaVariantKind, NotificationChannelKind

    world = await make_world()
    channel = await models.NotificationChannel.create(
        user=world.owner.user, kind=NotificationChannelKind.WEBHOOK, name="Home hook", url_sealed="x",
        secret_sealed="y", url_hint="https://hooks.example.com/…")
    now = datetime.now(UTC)
    for age, status in enumerate([DeliveryStatus.SENT, DeliveryStatus.FAILED]):
        row = await models.NotificationDelivery.create(
            user=world.owner.user, kind=DeliveryKind.WEBHOOK, target_id=channel.id, status=status, attempts=1,
            last_error="503 Service Unavailable" if status == DeliveryStatus.FAILED else None, next_attempt_at=now)
        await models.NotificationDelivery.filter(id=row.id).update(created_at=now - timedelta(minutes=age))
    await models.NotificationDelivery.create(user=world.editor.user, kind=DeliveryKind.IOS, target_id=channel.id,
                                             next_attempt_at=now)
    query = """query($userId: ID, $status: DeliveryStatus, $id: ID!) { admin {
      deliveries(userId: $userId, status: $status) { totalCount edges { node { kind status lastError targetId
        user { email } } } }
      userChannels(id: $id) { name urlHint active } } }"""
    answer = (await api.execute(query, {"userId": world.owner.id, "id": world.owner.id},
                                token=admin.token))["data"]["admin"]
    assert answer["deliveries"]["totalCount"] == 2
    assert [e["node"]["status"] for e in answer["deliveries"]["edges"]] == ["SENT", "FAILED"]  # newest first
    assert answer["deliveries"]["edges"][0]["node"]["user"]["email"] == world.owner.user.email
    assert answer["userChannels"] == [{"name": "Home hook", "urlHint": "https://hooks.example.com/…",
                                       "active": True}]
    failed = (await api.execute(query, {"status": "FAILED", "id": world.owner.id}, token=admin.token))
    assert [e["node"]["lastError"] for e in failed["data"]["admin"]["deliveries"]["edges"]] == [
        "503 Service Unavailable"]
    everyone = (await api.execute(query, {"id": world.owner.id}, token=admin.token))["data"]["admin"]
    assert everyone["deliveries"]["totalCount"] == 3

    photo = await ready_media(world.editor, MediaPurpose.AVATAR, world.editor.user.id, None)
    await models.MediaVariant.create(media=photo, kind=list(MediaVariantKind)[0], key=photo.key + ".thumb",
                                     content_type="image/webp", width=10, height=10, size=321)
    stats = (await api.execute("{ admin { stats { variantsByKind { purpose count bytes } } } }",
                               token=admin.token))["data"]["admin"]["stats"]
    assert stats["variantsByKind"] == [{"purpose": list(MediaVariantKind)[0].value, "count": 1, "bytes": 321.0}]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(api, admin) -> None:
    import asyncio

    other = await make_actor("other", is_admin=True)
    results = await asyncio.gather(
        api.execute(SET_ADMIN, {"i": {"userId": other.id, "admin": False}}, token=admin.token),
        api.execute(SET_ADMIN, {"i": {"userId": admin.id, "admin": False}}, token=other.token),
    )
    # The loser is refused either way: LAST_ADMIN when both passed the admin check at once (the row lock makes
    # the second wait and see the first's change), FORBIDDEN when the first had already committed.
    outcomes = sorted("FORBIDDEN" if error_code(r) == "FORBIDDEN" else str(r["data"]["adminSetAdmin"]["userErrors"])
                      for r in results)
    assert outcomes in (["[]", "[{'code': 'LAST_ADMIN'}]"], ["FORBIDDEN", "[]"]), results
    assert await models.User.filter(is_admin=True).count() == 1

"""Password reset, address verification and change of address, end to end.

Each test runs the API over ASGI with its rate limits in Redis, the in-process job worker of ``honeydue serve``
(so ``requestPasswordReset``'s job and the email jobs really run) and a real SMTP server in the test process
(aiosmtpd, ``tests/plugins/mail.py``). It reads the emails the server received and follows their links as a
person would: to the GraphQL mutations, or to the server-rendered pages.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest

from honeydue import clock
from honeydue.account_tokens import hash_account_token
from honeydue.models import AccountToken, AccountTokenPurpose, AuthToken, User
from honeydue.services import Services
from honeydue.settings import Settings
from tests.conftest import REGISTER, GraphQLClient
from tests.plugins.mail import SmtpServer, drain, mail_jobs
from tests.test_graphiql_browser import _PageMarkup

APP_URL = "https://app.honeydue.test"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"

ME = "{ me { id email emailVerified } }"
LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { token user { id } userErrors { field code } } }"""
REQUEST_RESET = """mutation($input: RequestPasswordResetInput!) {
  requestPasswordReset(input: $input) { ok userErrors { field code message } } }"""
RESET = """mutation($input: ResetPasswordInput!) {
  resetPassword(input: $input) { token user { id email emailVerified } userErrors { field code message } } }"""
VERIFY = """mutation($input: VerifyEmailInput!) {
  verifyEmail(input: $input) { user { id emailVerified } userErrors { field code } } }"""
RESEND = "mutation { resendVerificationEmail { ok userErrors { field code message } } }"
REQUEST_CHANGE = """mutation($input: RequestEmailChangeInput!) {
  requestEmailChange(input: $input) { ok userErrors { field code } } }"""
CONFIRM_CHANGE = """mutation($input: ConfirmEmailChangeInput!) {
  confirmEmailChange(input: $input) { user { id email emailVerified } userErrors { field code } } }"""


# --- the mailbox --------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received, read once every job sent so far has run."""

    services: Services
    smtp: SmtpServer
    seen: set[int] = field(default_factory=set)

    async def all_to(self, to: str) -> list[EmailMessage]:
        await drain(self.services)
        return [m for m in self.smtp.mailbox.messages() if m["To"] == to]

    async def next_to(self, to: str) -> EmailMessage:
        """The next message to ``to`` not read before."""
        await drain(self.services)
        for index, message in enumerate(self.smtp.mailbox.messages()):
            if index not in self.seen and message["To"] == to:
                self.seen.add(index)
                return message
        raise AssertionError(f"no email to {to} arrived")


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def link_in(message: EmailMessage, page: str) -> str:
    """The token of the ``{APP_URL}{page}?token=…`` link, which the text and the HTML part both carry."""
    pattern = re.escape(f"{APP_URL}{page}?token=") + r"([A-Za-z0-9_-]+)"
    text_tokens = re.findall(pattern, body_text(message))
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html_tokens = re.findall(pattern, html_part.get_content())
    assert text_tokens and set(text_tokens) == set(html_tokens), (text_tokens, html_tokens)
    return text_tokens[0]


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
async def services(mail_settings: Settings, redis_url: str, redis_client: object) -> AsyncIterator[Services]:
    """The services of ``honeydue serve`` (in-process jobs) with the rate limits in Redis, mail to aiosmtpd."""
    settings = mail_settings.model_copy(update={"redis_url": redis_url, "public_app_url": APP_URL})
    async with mail_jobs(settings) as opened:
        yield opened


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    from gateway.state import attach_gateway
    from honeydue.app import create_embedded_app

    app = create_embedded_app(services.settings)
    attach_gateway(app, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def mailbox(services: Services, smtp_server: SmtpServer) -> Mailbox:
    return Mailbox(services, smtp_server)


async def register(gql: GraphQLClient, mailbox: Mailbox, address: str) -> tuple[str, dict, str]:
    """A new account; returns its token, its user and the token of its verification link."""
    result = await gql.execute(REGISTER, {"input": {"email": address, "password": PASSWORD, "displayName": "Ann"}})
    payload = result["data"]["register"]
    assert payload["userErrors"] == []
    verification = await mailbox.next_to(address)
    assert verification["Subject"] == "Confirm your email address for honeydue"
    return payload["token"], payload["user"], link_in(verification, "/account/verify-email")


async def request_reset(gql: GraphQLClient, address: str) -> dict:
    return (await gql.execute(REQUEST_RESET, {"input": {"email": address}}))["data"]["requestPasswordReset"]


async def reset_token(gql: GraphQLClient, mailbox: Mailbox, address: str) -> str:
    assert (await request_reset(gql, address)) == {"ok": True, "userErrors": []}
    message = await mailbox.next_to(address)
    assert message["Subject"] == "Reset your honeydue password"
    return link_in(message, "/account/reset-password")


def error_code(result: dict) -> str:
    return result["errors"][0]["extensions"]["code"]


# --- password reset ---------------------------------------------------------------------------------------


async def test_reset_request_answers_byte_identically_for_unknown_addresses(
    http: httpx.AsyncClient, gql: GraphQLClient, mailbox: Mailbox
) -> None:
    await register(gql, mailbox, "known@example.com")
    answers = []
    for address in ("nobody@example.com", "known@example.com"):
        response = await http.post("/graphql", json={"query": REQUEST_RESET,
                                                     "variables": {"input": {"email": address}}})
        answers.append((response.status_code, response.content, response.headers["content-type"]))
    assert answers[0] == answers[1]
    assert answers[0][1] == b'{"data":{"requestPasswordReset":{"ok":true,"userErrors":[]}}}'
    # The known address gets its link; the unknown one gets nothing.
    token = link_in(await mailbox.next_to("known@example.com"), "/account/reset-password")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert await mailbox.all_to("nobody@example.com") == []
    # Stored only as a hash.
    rows = await AccountToken.filter(purpose=AccountTokenPurpose.RESET).values_list("token_hash", flat=True)
    assert rows == [hash_account_token(token)]


async def test_reset_request_refuses_a_malformed_address(gql: GraphQLClient) -> None:
    assert await request_reset(gql, "not an address") == {"ok": False, "userErrors": [
        {"field": ["email"], "code": "INVALID_EMAIL", "message": "Enter a valid email address."}]}


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_reset_requests_are_limited_per_address_and_per_client(gql: GraphQLClient, http) -> None:
    for _ in range(5):
        assert (await request_reset(gql, "someone@example.com"))["ok"] is True
    assert error_code(await gql.execute(REQUEST_RESET, {"input": {"email": "someone@example.com"}})) == "RATE_LIMITED"
    # Another address from the same client still works, until the client's own limit (20 an hour).
    for i in range(14):
        assert (await request_reset(gql, f"other{i}@example.com"))["ok"] is True
    assert error_code(await gql.execute(REQUEST_RESET, {"input": {"email": "last@example.com"}})) == "RATE_LIMITED"


async def test_reset_signs_in_ends_other_sessions_and_verifies(gql: GraphQLClient, mailbox: Mailbox) -> None:
    old_session, user, _ = await register(gql, mailbox, "ann@example.com")
    assert (await gql.execute(ME, token=old_session))["data"]["me"]["emailVerified"] is False
    token = await reset_token(gql, mailbox, "ann@example.com")

    result = (await gql.execute(RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}}))["data"]
    payload = result["resetPassword"]
    assert payload["userErrors"] == [] and payload["user"] == {"id": user["id"], "email": "ann@example.com",
                                                               "emailVerified": True}
    assert (await gql.execute(ME, token=payload["token"]))["data"]["me"]["id"] == user["id"]
    assert error_code(await gql.execute(ME, token=old_session)) == "UNAUTHENTICATED"
    assert await AuthToken.filter(user_id=user["id"], revoked_at=None).count() == 1

    login = await gql.execute(LOGIN, {"input": {"email": "ann@example.com", "password": NEW_PASSWORD}})
    assert login["data"]["login"]["userErrors"] == []
    old = await gql.execute(LOGIN, {"input": {"email": "ann@example.com", "password": PASSWORD}})
    assert old["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"

    # Single use.
    again = (await gql.execute(RESET, {"input": {"token": token, "newPassword": "yet another passphrase"}}))
    assert again["data"]["resetPassword"]["userErrors"] == [
        {"field": ["token"], "code": "INVALID_TOKEN",
         "message": "This link has expired or was already used. Ask for a new one."}]
    assert again["data"]["resetPassword"]["token"] is None


async def test_reset_tokens_expire_and_a_new_request_voids_the_older(gql: GraphQLClient, mailbox: Mailbox) -> None:
    await register(gql, mailbox, "bea@example.com")
    first = await reset_token(gql, mailbox, "bea@example.com")
    second = await reset_token(gql, mailbox, "bea@example.com")
    assert first != second
    voided = await gql.execute(RESET, {"input": {"token": first, "newPassword": NEW_PASSWORD}})
    assert voided["data"]["resetPassword"]["userErrors"][0]["code"] == "INVALID_TOKEN"

    past = clock.utc_now() - timedelta(seconds=1)
    await AccountToken.filter(token_hash=hash_account_token(second)).update(expires_at=past)
    expired = await gql.execute(RESET, {"input": {"token": second, "newPassword": NEW_PASSWORD}})
    assert expired["data"]["resetPassword"]["userErrors"][0]["code"] == "INVALID_TOKEN"
    garbage = await gql.execute(RESET, {"input": {"token": "x" * 5000, "newPassword": NEW_PASSWORD}})
    assert garbage["data"]["resetPassword"]["userErrors"][0]["code"] == "INVALID_TOKEN"


async def test_reset_link_lasts_an_hour(gql: GraphQLClient, mailbox: Mailbox) -> None:
    await register(gql, mailbox, "cy@example.com")
    await reset_token(gql, mailbox, "cy@example.com")
    row = await AccountToken.get(purpose=AccountTokenPurpose.RESET)
    assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(minutes=60, seconds=1)


async def test_weak_new_password_leaves_the_link_usable(gql: GraphQLClient, mailbox: Mailbox) -> None:
    await register(gql, mailbox, "dee@example.com")
    token = await reset_token(gql, mailbox, "dee@example.com")
    weak = await gql.execute(RESET, {"input": {"token": token, "newPassword": "short"}})
    assert weak["data"]["resetPassword"]["userErrors"][0] | {"message": ""} == {
        "field": ["newPassword"], "code": "WEAK_PASSWORD", "message": ""}
    good = await gql.execute(RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}})
    assert good["data"]["resetPassword"]["userErrors"] == []


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_reset_lifts_the_login_lock_out(gql: GraphQLClient, mailbox: Mailbox, mail_settings) -> None:
    await register(gql, mailbox, "eve@example.com")
    wrong = {"input": {"email": "eve@example.com", "password": "not the password"}}
    for _ in range(mail_settings.login_attempts_per_15min):
        await gql.execute(LOGIN, wrong)
    assert error_code(await gql.execute(LOGIN, wrong)) == "RATE_LIMITED"
    token = await reset_token(gql, mailbox, "eve@example.com")
    await gql.execute(RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}})
    login = await gql.execute(LOGIN, {"input": {"email": "eve@example.com", "password": NEW_PASSWORD}})
    assert login["data"]["login"]["userErrors"] == [] and login["data"]["login"]["token"]


# --- the reset page ---------------------------------------------------------------------------------------


def assert_strict_page(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "form-action 'self'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    markup = _PageMarkup()
    markup.feed(response.text)
    assert markup.inline == []
    assert markup.urls == ["data:,", "/account/static/account.css"]
    assert "<script" not in response.text


async def test_reset_page_get_keeps_the_token_and_post_resets(http, gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, _ = await register(gql, mailbox, "fay@example.com")
    token = await reset_token(gql, mailbox, "fay@example.com")
    for _ in range(2):  # a link scanner, then the person
        page = await http.get("/account/reset-password", params={"token": token})
        assert page.status_code == 200
        assert_strict_page(page)
        assert f'<input type="hidden" name="token" value="{token}">' in page.text
        assert 'method="post" action="/account/reset-password"' in page.text and "fay@example.com" in page.text

    form = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    done = await http.post("/account/reset-password", data=form)
    assert done.status_code == 200 and "Your password is changed" in done.text
    assert_strict_page(done)
    assert error_code(await gql.execute(ME, token=session)) == "UNAUTHENTICATED"
    assert await AuthToken.filter(revoked_at=None).count() == 0  # the page signs nobody in
    login = await gql.execute(LOGIN, {"input": {"email": "fay@example.com", "password": NEW_PASSWORD}})
    assert login["data"]["login"]["userErrors"] == []

    used = await http.post("/account/reset-password", data=form)
    assert used.status_code == 400 and "expired or was already used" in used.text
    assert (await http.get("/account/reset-password", params={"token": token})).status_code == 400


async def test_reset_page_re_renders_the_form_with_the_problem(http, gql: GraphQLClient, mailbox: Mailbox) -> None:
    await register(gql, mailbox, "gus@example.com")
    token = await reset_token(gql, mailbox, "gus@example.com")
    mismatch = await http.post("/account/reset-password", data={
        "token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400 and "The two passwords are not the same." in mismatch.text
    assert f'value="{token}"' in mismatch.text
    weak = await http.post("/account/reset-password", data={
        "token": token, "new_password": "short", "new_password_again": "short"})
    assert weak.status_code == 400 and "at least 10 characters" in weak.text and f'value="{token}"' in weak.text
    assert_strict_page(weak)
    odd = await http.post("/account/reset-password", content=b"\xff\xfe", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert odd.status_code == 400 and "could not be read" in odd.text
    json_body = await http.post("/account/reset-password", json={"token": token})
    assert json_body.status_code == 400
    huge = await http.post("/account/reset-password", data={"token": token, "new_password": "x" * 20_000})
    assert huge.status_code == 400
    # Still usable after all of that.
    ok = await http.post("/account/reset-password", data={
        "token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert ok.status_code == 200


async def test_pages_without_a_token_explain(http) -> None:
    for path in ("/account/reset-password", "/account/verify-email", "/account/confirm-email"):
        for params in ({}, {"token": "nope"}, {"token": "<script>alert(1)</script>"}):
            page = await http.get(path, params=params)
            assert page.status_code == 400, path
            assert "expired or was already used" in page.text
            assert "<script>alert" not in page.text
            assert_strict_page(page)
    stylesheet = await http.get("/account/static/account.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")


# --- verification ----------------------------------------------------------------------------------------


async def test_register_sends_a_verification_link_that_verify_email_completes(
    gql: GraphQLClient, mailbox: Mailbox
) -> None:
    session, user, token = await register(gql, mailbox, "hal@example.com")
    row = await AccountToken.get(purpose=AccountTokenPurpose.VERIFY)
    assert timedelta(hours=47, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=48, seconds=1)
    verified = (await gql.execute(VERIFY, {"input": {"token": token}}))["data"]["verifyEmail"]
    assert verified == {"user": {"id": user["id"], "emailVerified": True}, "userErrors": []}
    assert (await gql.execute(ME, token=session))["data"]["me"]["emailVerified"] is True
    again = (await gql.execute(VERIFY, {"input": {"token": token}}))["data"]["verifyEmail"]
    assert again["userErrors"] == [{"field": ["token"], "code": "INVALID_TOKEN"}]


async def test_verify_page_confirms_only_on_post(http, gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, token = await register(gql, mailbox, "ida@example.com")
    for _ in range(2):
        page = await http.get("/account/verify-email", params={"token": token})
        assert page.status_code == 200 and "Confirm that ida@example.com is your address" in page.text
        assert_strict_page(page)
    assert (await gql.execute(ME, token=session))["data"]["me"]["emailVerified"] is False
    done = await http.post("/account/verify-email", data={"token": token})
    assert done.status_code == 200 and "ida@example.com is confirmed" in done.text
    assert (await gql.execute(ME, token=session))["data"]["me"]["emailVerified"] is True
    assert (await http.post("/account/verify-email", data={"token": token})).status_code == 400


@pytest.mark.usefixtures("frozen_now")  # counts in a fixed window on the clock: a crossed edge would restart it
async def test_resend_verification_voids_the_older_link_and_is_limited(gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, first = await register(gql, mailbox, "jo@example.com")
    me = gql.as_user(session)
    assert (await me.execute(RESEND))["data"]["resendVerificationEmail"] == {"ok": True, "userErrors": []}
    second = link_in(await mailbox.next_to("jo@example.com"), "/account/verify-email")
    stale = (await gql.execute(VERIFY, {"input": {"token": first}}))["data"]["verifyEmail"]
    assert stale["userErrors"][0]["code"] == "INVALID_TOKEN"
    for _ in range(4):
        assert (await me.execute(RESEND))["data"]["resendVerificationEmail"]["ok"] is True
    assert error_code(await me.execute(RESEND)) == "RATE_LIMITED"
    latest = (await AccountToken.filter(purpose=AccountTokenPurpose.VERIFY, used_at=None).count())
    assert latest == 1
    assert error_code(await gql.execute(RESEND)) == "UNAUTHENTICATED"
    del second


async def test_resend_when_verified_says_so(gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, token = await register(gql, mailbox, "kim@example.com")
    await gql.execute(VERIFY, {"input": {"token": token}})
    answer = (await gql.as_user(session).execute(RESEND))["data"]["resendVerificationEmail"]
    assert answer == {"ok": False, "userErrors": [
        {"field": None, "code": "INVALID_INPUT", "message": "Your address is already verified."}]}


# --- change of address ------------------------------------------------------------------------------------


async def test_email_change_confirms_at_the_new_address_and_notifies_the_old(
    http, gql: GraphQLClient, mailbox: Mailbox
) -> None:
    session, user, verify_token = await register(gql, mailbox, "lee@example.com")
    await gql.execute(VERIFY, {"input": {"token": verify_token}})  # only a verified address gets the notice
    me = gql.as_user(session)
    wrong = await me.execute(REQUEST_CHANGE, {"input": {"newEmail": "new@example.com", "password": "nope"}})
    assert wrong["data"]["requestEmailChange"]["userErrors"] == [{"field": ["password"], "code": "WRONG_PASSWORD"}]
    asked = await me.execute(REQUEST_CHANGE, {"input": {"newEmail": "New@Example.com", "password": PASSWORD}})
    assert asked["data"]["requestEmailChange"] == {"ok": True, "userErrors": []}

    confirmation = await mailbox.next_to("new@example.com")
    assert confirmation["Subject"] == "Confirm your new email address for honeydue"
    token = link_in(confirmation, "/account/confirm-email")
    notice = await mailbox.next_to("lee@example.com")
    assert notice["Subject"] == "Your honeydue email address is about to change"
    assert "new@example.com" in body_text(notice) and "token=" not in body_text(notice)
    assert (await me.execute(ME))["data"]["me"]["email"] == "lee@example.com"

    page = await http.get("/account/confirm-email", params={"token": token})
    assert page.status_code == 200 and "new@example.com" in page.text
    assert_strict_page(page)
    done = await http.post("/account/confirm-email", data={"token": token})
    assert done.status_code == 200 and "now uses new@example.com" in done.text
    assert (await me.execute(ME))["data"]["me"] == {"id": user["id"], "email": "new@example.com",
                                                    "emailVerified": True}
    login = await gql.execute(LOGIN, {"input": {"email": "new@example.com", "password": PASSWORD}})
    assert login["data"]["login"]["userErrors"] == []


async def test_email_change_refusals(gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, _ = await register(gql, mailbox, "max@example.com")
    await register(gql, mailbox, "taken@example.com")
    me = gql.as_user(session)

    async def change(address: str) -> list[dict]:
        result = await me.execute(REQUEST_CHANGE, {"input": {"newEmail": address, "password": PASSWORD}})
        return result["data"]["requestEmailChange"]["userErrors"]

    assert await change("taken@example.com") == [{"field": ["newEmail"], "code": "EMAIL_TAKEN"}]
    assert await change("not-an-address") == [{"field": ["newEmail"], "code": "INVALID_EMAIL"}]
    assert await change("MAX@example.com") == [{"field": ["newEmail"], "code": "INVALID_INPUT"}]
    anonymous = await gql.execute(REQUEST_CHANGE, {"input": {"newEmail": "a@example.com", "password": PASSWORD}})
    assert error_code(anonymous) == "UNAUTHENTICATED"


async def test_confirm_email_change_when_the_address_was_taken_meanwhile(gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, _, _ = await register(gql, mailbox, "ned@example.com")
    await gql.as_user(session).execute(REQUEST_CHANGE, {"input": {"newEmail": "wanted@example.com",
                                                                  "password": PASSWORD}})
    token = link_in(await mailbox.next_to("wanted@example.com"), "/account/confirm-email")
    await register(gql, mailbox, "wanted@example.com")
    taken = (await gql.execute(CONFIRM_CHANGE, {"input": {"token": token}}))["data"]["confirmEmailChange"]
    assert taken == {"user": None, "userErrors": [{"field": ["token"], "code": "EMAIL_TAKEN"}]}
    assert (await User.get(email="ned@example.com")).email_verified is False


async def test_confirm_email_change_mutation(gql: GraphQLClient, mailbox: Mailbox) -> None:
    session, user, verify_token = await register(gql, mailbox, "ola@example.com")
    await gql.as_user(session).execute(REQUEST_CHANGE, {"input": {"newEmail": "ola2@example.com",
                                                                  "password": PASSWORD}})
    token = link_in(await mailbox.next_to("ola2@example.com"), "/account/confirm-email")
    # The old address was never verified: it gets no notice (only verification and reset emails).
    subjects = [m["Subject"] for m in await mailbox.all_to("ola@example.com")]
    assert subjects == ["Confirm your email address for honeydue"]
    confirmed = (await gql.execute(CONFIRM_CHANGE, {"input": {"token": token}}))["data"]["confirmEmailChange"]
    assert confirmed == {"user": {"id": user["id"], "email": "ola2@example.com", "emailVerified": True},
                         "userErrors": []}
    # The verification link sent to the old address no longer does anything.
    stale = (await gql.execute(VERIFY, {"input": {"token": verify_token}}))["data"]["verifyEmail"]
    assert stale["userErrors"][0]["code"] == "INVALID_TOKEN"


async def test_two_resets_racing_with_one_link_one_wins(gql: GraphQLClient, mailbox: Mailbox) -> None:
    await register(gql, mailbox, "pat@example.com")
    token = await reset_token(gql, mailbox, "pat@example.com")
    answers = await asyncio.gather(*(
        gql.execute(RESET, {"input": {"token": token, "newPassword": f"racing passphrase {i}"}}) for i in range(2)))
    payloads = [answer["data"]["resetPassword"] for answer in answers]
    assert sorted(bool(p["token"]) for p in payloads) == [False, True]
    loser = next(p for p in payloads if not p["token"])
    assert loser["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert await AuthToken.filter(revoked_at=None).count() == 1


def test_honeydue_api_serves_the_pages_too() -> None:
    from honeydue.app import create_api_app
    from honeydue.settings import load_settings

    app = create_api_app(load_settings({}))
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/account/reset-password", "/account/verify-email", "/account/confirm-email", "/account/static"} <= paths


# --- clean-up ------------------------------------------------------------------------------------------------


async def test_the_clean_up_deletes_links_a_week_after_use_voiding_or_expiry(settings: Settings,
                                                                            frozen_now) -> None:
    from honeydue import account_tokens
    from workers import cleanup

    start = frozen_now.now
    one, two = [await User.create(email=f"{name}@example.com", password_hash="x", display_name=name)
                for name in ("one", "two")]

    async def issue(user: User, purpose: AccountTokenPurpose, at_day: int, ttl: timedelta) -> str:
        frozen_now.now = start + timedelta(days=at_day)
        return await account_tokens.issue(user, purpose, ttl)

    async def use(raw: str, purpose: AccountTokenPurpose) -> None:
        token = await account_tokens.find(raw, purpose)
        assert token is not None and await account_tokens.use(token)

    expired_long_ago = await issue(one, AccountTokenPurpose.RESET, 0, timedelta(hours=1))
    voided = await issue(one, AccountTokenPurpose.VERIFY, 0, timedelta(hours=48))
    live = await issue(one, AccountTokenPurpose.VERIFY, 1, timedelta(days=30))  # voids the one above
    used_long_ago = await issue(two, AccountTokenPurpose.RESET, 2, timedelta(hours=1))
    await use(used_long_ago, AccountTokenPurpose.RESET)
    expired_lately = await issue(two, AccountTokenPurpose.VERIFY, 5, timedelta(hours=1))
    used_lately = await issue(one, AccountTokenPurpose.EMAIL_CHANGE, 9, timedelta(hours=1))
    await use(used_lately, AccountTokenPurpose.EMAIL_CHANGE)

    frozen_now.now = start + timedelta(days=10)
    assert await cleanup.expire_account_tokens(frozen_now.now) == 3
    left = {row.token_hash for row in await AccountToken.all()}
    assert left == {hash_account_token(raw) for raw in (live, expired_lately, used_lately)}
    assert left.isdisjoint(hash_account_token(raw) for raw in (expired_long_ago, voided, used_long_ago))
    # The live link still works; a second run finds nothing more.
    assert await account_tokens.find(live, AccountTokenPurpose.VERIFY) is not None
    assert await cleanup.expire_account_tokens(frozen_now.now) == 0
    assert {row.token_hash for row in await AccountToken.all()} == left

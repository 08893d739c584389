"""The account flows that go through an emailed link: password reset, address verification, change of address.

Each sends a link ``{PUBLIC_APP_URL}/account/<page>?token=…`` (``honeydue.links.app_link``) whose token follows
``honeydue.account_tokens``' rules; the GraphQL mutations and the server-rendered pages (``honeydue.account_pages``)
both complete a flow through the functions here, so the two never differ.

A password-reset request must not tell whether an account exists, by its answer or by its time. So the request
does the same work whatever the address: it checks the address's form, counts the request against both rate
limits and sends the ``send_password_reset`` job; the job (``send_password_reset``) looks the address up and
emails a link only when it belongs to an account.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue import account_tokens, clock, jobs
from honeydue.client_address import limit_key
from honeydue.errors import RateLimited
from honeydue.links import app_link
from honeydue.mail.outbox import queue_email
from honeydue.models import AccountToken, AccountTokenPurpose, User
from honeydue.passwords import hash_password, password_problem, verify_password
from honeydue.ratelimit import RateLimiter
from honeydue.settings import Settings
from honeydue.tokens import SessionOrigin, issue_token, revoke_all_tokens, session_ttl_days
from honeydue.user_errors import InputRejected, UserErrorCode, reject
from resolvers import accounts
from resolvers.accounts import Session, check_email
from resolvers.login_limits import clear_login_lockouts

log = logging.getLogger(__name__)

RESET_PAGE = "/account/reset-password"
VERIFY_PAGE = "/account/verify-email"
CONFIRM_EMAIL_PAGE = "/account/confirm-email"
SEND_PASSWORD_RESET_JOB = "send_password_reset"

# Requests that send an email, per hour: enough for a typo and a retry, too few to flood an inbox.
HOUR = 3600
RESET_REQUESTS_PER_EMAIL = 5
RESET_REQUESTS_PER_ADDRESS = 20
VERIFICATION_EMAILS_PER_USER = 5
EMAIL_CHANGES_PER_USER = 5

INVALID_TOKEN_MESSAGE = "This link has expired or was already used. Ask for a new one."


def reset_ttl(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.password_reset_ttl_minutes)


def verification_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.email_verification_ttl_hours)


def _spoken(ttl: timedelta) -> str:
    """``timedelta(hours=1)`` -> "1 hour", for the emails."""
    minutes = int(ttl.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def _invalid_token() -> InputRejected:
    return reject(UserErrorCode.INVALID_TOKEN, INVALID_TOKEN_MESSAGE, "token")


# --- password reset ---------------------------------------------------------------------------------------


async def request_password_reset(settings: Settings, limiter: RateLimiter, client_ip: str, email: str) -> None:
    """Send a reset link to ``email`` if it is an account's; the same answer and work either way."""
    email = check_email(email)
    # A digest, as for logins: bounded key length, and no addresses in Redis key names.
    email_key = hashlib.sha256(email.encode()).hexdigest()[:32]
    within_email = await limiter.hit(f"reset:email:{email_key}", RESET_REQUESTS_PER_EMAIL, HOUR)
    within_address = await limiter.hit(f"reset:addr:{limit_key(client_ip)}", RESET_REQUESTS_PER_ADDRESS, HOUR)
    if not (within_email and within_address):
        raise RateLimited("Too many password reset requests; try again later.")
    if not jobs.enqueue(SEND_PASSWORD_RESET_JOB, email):
        log.error("password reset for a requested address not sent: the job could not be queued")


async def send_password_reset(settings: Settings, email: str) -> bool:
    """The job's work: email a reset link when ``email`` is an account's. True when one was sent."""
    user = await User.get_or_none(email=email)
    if user is None:
        return False
    ttl = reset_ttl(settings)
    raw = await account_tokens.issue(user, AccountTokenPurpose.RESET, ttl)
    await queue_email(to=user.email, kind="password_reset", user_id=user.id, context={
        "display_name": user.display_name,
        "link": app_link(settings, RESET_PAGE, token=raw),
        "valid_for": _spoken(ttl),
    })
    return True


async def find_reset_token(raw: str) -> AccountToken | None:
    """The live reset token ``raw`` (the page shows its form only for one); it is not used up."""
    return await account_tokens.find(raw, AccountTokenPurpose.RESET)


async def reset_password(limiter: RateLimiter, raw: str, new_password: str) -> User:
    """Set a new password with a reset token; every session of the user ends (the page's way).

    The link proved the user reads mail at the address, so it is verified too; a pending change of address
    is cancelled (if someone else asked for it, the owner's reset stops it) and login lock-outs are lifted.
    """
    token = await find_reset_token(raw)
    if token is None:
        raise _invalid_token()
    user = token.user
    problem = password_problem(new_password, user.email)
    if problem:  # before the token is used: the user tries again with the same link
        raise reject(UserErrorCode.WEAK_PASSWORD, problem, "newPassword")
    password_hash = hash_password(new_password)
    async with in_transaction():
        if not await account_tokens.use(token):
            raise _invalid_token()
        user.password_hash = password_hash
        fields = ["password_hash"]
        if not user.email_verified:
            user.email_verified, user.email_verified_at = True, clock.utc_now()
            fields += ["email_verified", "email_verified_at"]
        await user.save(update_fields=fields)
        await revoke_all_tokens(user.id)
        for purpose in (AccountTokenPurpose.VERIFY, AccountTokenPurpose.EMAIL_CHANGE):
            await account_tokens.void_all(user.id, purpose)
    await clear_login_lockouts(limiter, user.email)
    return user


async def reset_password_and_sign_in(
    settings: Settings, limiter: RateLimiter, raw: str, new_password: str, origin: SessionOrigin | None = None
) -> Session:
    """``reset_password``, then a new session: the only one the user has (the API's way).

    A disabled account (``User.disabled``) gets ACCOUNT_DISABLED before anything changes (the link stays usable):
    it may not sign in. The reset page (no session) still lets its owner set a new password, which an admin
    may ask for before enabling the account again (docs/admin-console.md).
    """
    token = await find_reset_token(raw)
    if token is not None and token.user.disabled:
        raise reject(UserErrorCode.ACCOUNT_DISABLED, "This account has been disabled by an administrator.")
    user = await reset_password(limiter, raw, new_password)
    return Session(token=await issue_token(user, session_ttl_days(settings, user), origin), user=user)


# --- verification -----------------------------------------------------------------------------------------


async def register(
    settings: Settings, limiter: RateLimiter, client_ip: str, email: str, password: str, display_name: str,
    origin: SessionOrigin | None = None,
) -> Session:
    """``accounts.register``, then the email that verifies the new account's address."""
    session = await accounts.register(settings, limiter, client_ip, email, password, display_name, origin)
    await send_verification(settings, session.user)
    return session


async def send_verification(settings: Settings, user: User) -> None:
    """Email ``user`` a link that verifies their address (older links stop working)."""
    ttl = verification_ttl(settings)
    raw = await account_tokens.issue(user, AccountTokenPurpose.VERIFY, ttl)
    await queue_email(to=user.email, kind="verify_email", user_id=user.id, context={
        "display_name": user.display_name,
        "email": user.email,
        "link": app_link(settings, VERIFY_PAGE, token=raw),
        "valid_for": _spoken(ttl),
    })


async def resend_verification(settings: Settings, limiter: RateLimiter, user: User) -> None:
    if user.email_verified:
        raise reject(UserErrorCode.INVALID_INPUT, "Your address is already verified.")
    if not await limiter.hit(f"verify:user:{user.id}", VERIFICATION_EMAILS_PER_USER, HOUR):
        raise RateLimited("Too many verification emails; try again later.")
    await send_verification(settings, user)


async def find_verify_token(raw: str) -> AccountToken | None:
    return await account_tokens.find(raw, AccountTokenPurpose.VERIFY)


async def verify_email(raw: str) -> User:
    """Mark the address of the token's user verified; INVALID_TOKEN when the link is expired or used."""
    token = await find_verify_token(raw)
    if token is None:
        raise _invalid_token()
    user = token.user
    async with in_transaction():
        if not await account_tokens.use(token):
            raise _invalid_token()
        if not user.email_verified:
            user.email_verified, user.email_verified_at = True, clock.utc_now()
            await user.save(update_fields=["email_verified", "email_verified_at"])
    return user


# --- change of address ------------------------------------------------------------------------------------


async def request_email_change(
    settings: Settings, limiter: RateLimiter, user: User, new_email: str, password: str
) -> None:
    """Send a confirmation link to ``new_email`` and a notice to the current address; nothing changes yet."""
    if not verify_password(user.password_hash, password):
        raise reject(UserErrorCode.WRONG_PASSWORD, "Password is incorrect.", "password")
    new_email = check_email(new_email, "newEmail")
    if new_email == user.email:
        raise reject(UserErrorCode.INVALID_INPUT, "That is already your address.", "newEmail")
    if await User.filter(email=new_email).exists():
        raise reject(UserErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "newEmail")
    if not await limiter.hit(f"email-change:user:{user.id}", EMAIL_CHANGES_PER_USER, HOUR):
        raise RateLimited("Too many address changes; try again later.")
    ttl = verification_ttl(settings)
    raw = await account_tokens.issue(user, AccountTokenPurpose.EMAIL_CHANGE, ttl, new_email=new_email)
    names: dict[str, object] = {"display_name": user.display_name, "old_email": user.email, "new_email": new_email}
    await queue_email(to=new_email, kind="confirm_email_change", user_id=user.id, context={
        **names, "link": app_link(settings, CONFIRM_EMAIL_PAGE, token=raw), "valid_for": _spoken(ttl),
    })
    await queue_email(to=user.email, kind="email_change_notice", user_id=user.id, context=names)


async def find_email_change_token(raw: str) -> AccountToken | None:
    return await account_tokens.find(raw, AccountTokenPurpose.EMAIL_CHANGE)


async def confirm_email_change(raw: str) -> User:
    """Move the account to the token's new address, which is then verified; EMAIL_TAKEN if it was taken since."""
    token = await find_email_change_token(raw)
    if token is None or token.new_email is None:
        raise _invalid_token()
    user = token.user
    try:
        async with in_transaction():
            if not await account_tokens.use(token):
                raise _invalid_token()
            if await User.filter(email=token.new_email).exists():
                raise reject(UserErrorCode.EMAIL_TAKEN, "Another account uses that address now.", "token")
            user.email, user.email_verified, user.email_verified_at = token.new_email, True, clock.utc_now()
            await user.save(update_fields=["email", "email_verified", "email_verified_at"])
            # Links sent to the old address (a reset, a verification) no longer concern this account.
            for purpose in (AccountTokenPurpose.RESET, AccountTokenPurpose.VERIFY):
                await account_tokens.void_all(user.id, purpose)
    except IntegrityError:  # someone registered the address between the check and the update
        raise reject(UserErrorCode.EMAIL_TAKEN, "Another account uses that address now.", "token") from None
    return user

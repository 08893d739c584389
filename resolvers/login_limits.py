"""Failed-login limits: a guesser is slowed down without locking the account's owner out.

Only failures count, in three fixed 15-minute windows (``LOGIN_ATTEMPTS_PER_15MIN`` = L, default 10):

* per (email, client address): L failures, then that address is refused for that email;
* per client address: 5 x L failures over all emails (one address trying many accounts);
* per email, over all addresses: a ceiling of 10 x L failures (guessing spread over many addresses). Past it,
  an address that has already failed for this email in the window is refused; an address that has not
  still gets its attempt, so the owner signing in from their own device is never locked out by others.

A correct password takes its attempt back and clears its (email, address) count. IPv6 clients are counted
per /64 (``honeydue.client_address.limit_key``). Each attempt is counted before the password is checked and
taken back after a success, so concurrent attempts cannot all slip under a limit. docs/rate-limits.md
describes the policy for operators.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from honeydue.client_address import limit_key
from honeydue.errors import RateLimited
from honeydue.ratelimit import Counted, RateLimiter

LOGIN_WINDOW = 15 * 60
PER_ADDRESS_FACTOR = 5
PER_EMAIL_CEILING_FACTOR = 10


def _email_key(email: str) -> str:
    # A digest: bounded key length whatever the input, and no addresses in Redis key names.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


@dataclass
class LoginAttempt:
    """One attempt, counted as a failure in advance; ``succeeded`` takes it back."""

    limiter: RateLimiter
    counted: list[Counted]
    pair_key: str

    async def succeeded(self) -> None:
        for counted in self.counted:
            await self.limiter.take_back(counted)
        await self.limiter.reset(self.pair_key, LOGIN_WINDOW)


async def begin_login_attempt(limiter: RateLimiter, limit: int, email: str, client_address: str) -> LoginAttempt:
    """Count an attempt for ``email`` from ``client_address``; RateLimited when a limit is already spent."""
    email_key = _email_key(email)
    address_key = limit_key(client_address)
    pair_key = f"login:fail:pair:{email_key}:{address_key}"
    pair = await limiter.add(pair_key, LOGIN_WINDOW)
    per_address = await limiter.add(f"login:fail:addr:{address_key}", LOGIN_WINDOW)
    per_email = await limiter.add(f"login:fail:email:{email_key}", LOGIN_WINDOW)
    counted = [pair, per_address, per_email]
    refused = (
        pair.value > limit
        or per_address.value > limit * PER_ADDRESS_FACTOR
        # ``pair`` includes this attempt: above 1 means this address already failed for this email.
        or (per_email.value > limit * PER_EMAIL_CEILING_FACTOR and pair.value > 1)
    )
    if refused:
        # A refused attempt checked nothing, so it is not a failure either.
        for one in counted:
            await limiter.take_back(one)
        raise RateLimited("Too many login attempts; try again in a few minutes.")
    return LoginAttempt(limiter, counted, pair_key)


async def clear_login_lockouts(limiter: RateLimiter, email: str) -> None:
    """Lift every failed-login count of ``email``: from each address, and its ceiling (a completed password reset:
    the owner proved who they are, so the guessing of the forgotten password must not keep them out)."""
    email_key = _email_key(email)
    await limiter.reset_all(f"login:fail:pair:{email_key}:")
    await limiter.reset(f"login:fail:email:{email_key}", LOGIN_WINDOW)

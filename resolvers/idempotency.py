"""Idempotency keys: a retried create (same key, same user, within 24 h) returns the first result, once.

The guarantee is the ``UNIQUE(user_id, key)`` constraint of ``idempotency_keys``, not a look-up: the claim is
inserted as the first statement of the transaction that does the work and is filled in with the result in
that same transaction. Of two concurrent requests with one key exactly one claim commits; the other insert
fails (on PostgreSQL it first waits for the winner's transaction to end), its transaction rolls back, and it
answers with the winner's result. On SQLite a transaction holds the process's only connection, so the
requests simply take turns and the second one finds the first one's claim.

The look-up before the work (``first_result``) is only a fast path: it lets a retry of a one-off task's
completion return the first completion instead of "already done". A key whose claim is older than
``IDEMPOTENCY_WINDOW`` is free again: the claim deletes it first (and the ``expire_idempotency_keys`` job
removes the rest).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from honeydue.clock import utc_now
from honeydue.models import IDEMPOTENCY_WINDOW, MAX_IDEMPOTENCY_KEY_LENGTH, IdempotencyKey, User
from honeydue.user_errors import InputRejected, Rejection, UserErrorCode, attempt, reject

FIELD = "idempotencyKey"
T = TypeVar("T")


class KeyTaken(Exception):
    """Another request with the same key committed its claim first (raised inside the work's transaction)."""


@dataclass(frozen=True)
class Request:
    """One retry-safe request: whose, which key, which operation, and a digest of what it asked for."""

    user_id: uuid.UUID
    key: str
    operation: str
    request_hash: str

    async def first_result(self) -> uuid.UUID | None:
        """What the first request with this key made, if one committed within the window.

        IDEMPOTENCY_KEY_REUSED when that request asked for something else (another operation or input).
        """
        row = await IdempotencyKey.get_or_none(user_id=self.user_id, key=self.key,
                                               created_at__gte=utc_now() - IDEMPOTENCY_WINDOW)
        if row is None:
            return None
        if row.operation != self.operation or row.request_hash != self.request_hash:
            raise reject(UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                         "This idempotencyKey was already used for a different request.", FIELD)
        return row.result_id

    async def claim(self, result_id: uuid.UUID) -> None:
        """Record this request's result under its key; call inside the transaction that made ``result_id``.

        Raises ``KeyTaken`` when a live claim for the key exists (or commits meanwhile).
        """
        await IdempotencyKey.filter(user_id=self.user_id, key=self.key,
                                    created_at__lt=utc_now() - IDEMPOTENCY_WINDOW).delete()
        try:
            await IdempotencyKey.create(user_id=self.user_id, key=self.key, operation=self.operation,
                                        request_hash=self.request_hash, result_id=result_id)
        except IntegrityError:
            raise KeyTaken() from None


def request(user: User, key: str | None, operation: str, fields: Mapping[str, object]) -> Request | None:
    """The request's identity when the client sent a key (None otherwise); a malformed key is a user error."""
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise reject(UserErrorCode.INVALID_INPUT,
                     f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.", FIELD)
    canonical = json.dumps({"operation": operation, "input": fields}, sort_keys=True, default=_plain,
                           separators=(",", ":"))
    return Request(user.id, key, operation, hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest())


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


async def once(
    req: Request | None,
    work: Callable[[], Awaitable[T]],
    replay: Callable[[uuid.UUID], Awaitable[T]],
) -> T:
    """Run ``work`` unless a request with the same key already did; then ``replay`` its result instead.

    ``work`` validates, then opens a transaction whose first statement is ``req.claim(id)`` (when ``req`` is
    not None) with the id it is about to give its result. A rejected ``work`` looks for a winner once more:
    a concurrent first request may have changed what the validation saw (a one-off task it just completed),
    and the retry must still get the first result.
    """
    if req is None:
        return await work()
    for _ in range(3):
        first = await req.first_result()
        if first is not None:
            return await replay(first)
        try:
            outcome = await attempt(work())
        except KeyTaken:
            continue  # the winner committed: the next round's look-up finds it
        if not isinstance(outcome, Rejection):
            return outcome
        first = await req.first_result()
        if first is not None:
            return await replay(first)
        raise InputRejected(*outcome.errors)
    # Three winners that vanished right after winning (their user deleted?): give up like a conflict would.
    raise reject(UserErrorCode.IDEMPOTENCY_KEY_REUSED, "This idempotencyKey is in use; try again.", FIELD)


@asynccontextmanager
async def claimed(req: Request | None) -> AsyncIterator[uuid.UUID]:
    """The transaction a create does its work in, giving the id for its result; with a key, the transaction's
    first statement claims the key for that id (see ``once``)."""
    result_id = uuid.uuid4()
    async with in_transaction():
        if req is not None:
            await req.claim(result_id)
        yield result_id


def replay_existing(
    model: type[Model], reread: Callable[[uuid.UUID], Awaitable[T]]
) -> Callable[[uuid.UUID], Awaitable[T]]:
    """The ``replay`` of a create whose result is one ``model`` row: ``gone()`` when that row has been deleted
    since, else ``reread(id)`` (which checks the caller may still read it)."""

    async def replay(result_id: uuid.UUID) -> T:
        if not await model.exists(id=result_id):
            raise gone()
        return await reread(result_id)

    return replay


def gone() -> InputRejected:
    """What a repeat gets when what the first request made has since been deleted."""
    return reject(UserErrorCode.NOT_FOUND, "What the first request with this idempotencyKey made no longer exists.",
                  FIELD)

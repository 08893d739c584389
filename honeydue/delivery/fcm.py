"""FCM (Firebase Cloud Messaging) HTTP v1: ``POST /v1/projects/<FCM_PROJECT_ID>/messages:send``.

Authentication is an OAuth2 access token of the service account in ``FCM_CREDENTIALS_FILE`` (scope
``firebase.messaging``), minted by ``google-auth`` (a JWT assertion signed RS256 with the account's key,
exchanged at the account's ``token_uri``) in a worker thread, and reused until google-auth judges it close
to expiry (tokens live an hour). One refresh at a time: concurrent sends wait for it.

The message: ``notification {title, body}`` (Android shows it as is), ``android`` (high priority, a day's TTL,
``tag`` the task so a task's reminders replace each other, ``click_action: HONEYDUE_TASK`` when it has
actions) and ``data`` (FCM wants strings): ``deliveryId``, ``notificationType``, ``taskId``, ``taskTitle`` and
``actions``, the JSON list of ``{id, title, url}`` the app turns into Done and Snooze buttons.

Answers: 200 sent; ``UNREGISTERED`` (404) the token is gone: the device is marked dead; 429, 5xx retried
honouring ``Retry-After``; 401 drops the cached access token and retries; anything else
(``INVALID_ARGUMENT``, ``SENDER_ID_MISMATCH``, ``THIRD_PARTY_AUTH_ERROR``) fails the delivery, device kept.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import google.auth.exceptions
import httpx
import requests
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account

from honeydue.delivery.http_client import LoopClient
from honeydue.delivery.http_outcome import RETRYABLE_EXCEPTIONS, raise_for_outcome, short
from honeydue.delivery.keys import load_service_account
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.settings import Settings

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_URL = "https://fcm.googleapis.com"
TTL = "86400s"
CLICK_ACTION = "HONEYDUE_TASK"


def fcm_message(token: str, message: OutboundMessage) -> dict[str, Any]:
    data = {"deliveryId": message.delivery_id, "notificationType": message.notification_type,
            "actions": json.dumps([{"id": a.id, "title": a.title, "url": a.url} for a in message.actions])}
    android_notification: dict[str, str] = {}
    if message.task is not None:
        data.update(taskId=message.task.id, taskTitle=message.task.title)
        android_notification["tag"] = message.task.id
    if message.actions:
        android_notification["click_action"] = CLICK_ACTION
    android: dict[str, Any] = {"priority": "HIGH", "ttl": TTL}
    if android_notification:
        android["notification"] = android_notification
    return {"message": {"token": token, "notification": {"title": message.title, "body": message.body},
                        "data": data, "android": android}}


def error_code(response: httpx.Response) -> str:
    """The FCM error code (``UNREGISTERED``) or else the Google status (``INVALID_ARGUMENT``) of an error answer."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


class FCMTransport:
    """Sends to ``Device`` rows of platform ANDROID (their ``token``, the FCM registration token)."""

    def __init__(self, project_id: str, credentials: service_account.Credentials, *, base_url: str = FCM_URL,
                 timeout: float = 10.0, verify: Any = True) -> None:
        self._project_id = project_id
        self._credentials = credentials
        self._timeout = timeout
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._refresh_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._token_session = requests.Session()
        self._token_session.verify = verify if isinstance(verify, (bool, str)) else True
        self._client = LoopClient(lambda: httpx.AsyncClient(timeout=httpx.Timeout(timeout), verify=verify,
                                                            follow_redirects=False))

    @classmethod
    def from_settings(cls, settings: Settings) -> FCMTransport | None:
        if not (settings.fcm_project_id and settings.fcm_credentials_file):
            return None
        info = load_service_account(settings.fcm_credentials_file)
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        return cls(settings.fcm_project_id, credentials, timeout=settings.delivery_timeout_seconds)

    async def access_token(self) -> str:
        """The cached OAuth2 token; refreshed (one refresh at a time, off the event loop) when close to expiry."""
        loop = asyncio.get_running_loop()
        if self._refresh_lock is None or self._refresh_lock[0] is not loop:  # a lock belongs to one loop
            self._refresh_lock = (loop, asyncio.Lock())
        async with self._refresh_lock[1]:
            if not self._credentials.valid:
                request = GoogleRequest(self._token_session)
                try:
                    await asyncio.to_thread(self._credentials.refresh, _with_timeout(request, self._timeout))
                except google.auth.exceptions.RefreshError as exc:
                    if getattr(exc, "retryable", False):
                        raise RetryableDeliveryError(short(f"FCM token: {exc}")) from None
                    raise PermanentDeliveryError(short(f"FCM token refused (FCM_CREDENTIALS_FILE): {exc}")) from None
                except google.auth.exceptions.TransportError as exc:
                    raise RetryableDeliveryError(short(f"FCM token: {exc}")) from None
            return str(self._credentials.token)

    def forget_token(self) -> None:
        self._credentials.token = None

    async def deliver(self, target: Any, message: OutboundMessage) -> None:
        token = getattr(target, "token", None)
        if not token:
            raise PermanentDeliveryError("not an FCM device (no token)")
        bearer = await self.access_token()
        try:
            response = await self._client.get().post(self.url, json=fcm_message(token, message),
                                                     headers={"Authorization": f"Bearer {bearer}"})
        except RETRYABLE_EXCEPTIONS as exc:
            raise RetryableDeliveryError(short(f"FCM: {type(exc).__name__}: {exc}")) from None
        code = "" if response.status_code == 200 else error_code(response)
        if code == "UNREGISTERED":
            raise PermanentDeliveryError(f"FCM answered {response.status_code}: UNREGISTERED", target_gone=True)
        if response.status_code == 401:
            self.forget_token()  # revoked or expired early: the retry mints a new one
            raise RetryableDeliveryError(f"FCM answered 401: {code or 'UNAUTHENTICATED'}")
        raise_for_outcome("FCM", response, gone=(), reason=code)

    async def aclose(self) -> None:
        await self._client.aclose()
        self._token_session.close()


def _with_timeout(request: GoogleRequest, timeout: float) -> Any:
    """google-auth's request with our timeout (its default is two minutes)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs["timeout"] = timeout
        return request(*args, **kwargs)

    return call

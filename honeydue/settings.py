"""Configuration from the environment, validated once at start.

Every variable of DESIGN.md's configuration table is a field here. A bad value
stops start-up with one line naming the variable (see ``load_settings``), so an
operator never has to read a traceback to find a typo in a ConfigMap.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

log = logging.getLogger(__name__)

DEFAULT_ALLOWED_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif",
                         "application/pdf",
                         "video/mp4", "video/quicktime", "video/webm"]
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg")
POSTGRES_SCHEMES = ("postgres", "postgresql", "asyncpg")
# Where `honeydue gateway` listens by default: in development the API's media links point here unless
# PUBLIC_GATEWAY_URL says otherwise (`honeydue serve` points them at its own address instead).
DEFAULT_PUBLIC_GATEWAY_URL = "http://127.0.0.1:8001"
# Where `honeydue api` listens by default: the base of the app's own links (account pages, unsubscribe) in
# development unless PUBLIC_APP_URL says otherwise (`honeydue serve` points them at its own address instead).
DEFAULT_PUBLIC_APP_URL = "http://127.0.0.1:8000"


class ConfigError(Exception):
    """A configuration problem, worded for the operator: names the variable."""


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what ``load_settings`` passes in: it reads the environment (or the mapping it is given) itself.

        Without this, pydantic-settings would read ``os.environ`` a second time under every mapping a caller
        gives (a test's variables mixed with the shell's), inspecting all fields per source: most of the
        ~1.5 ms each ``load_settings`` call took.
        """
        return (init_settings,)

    # "development" is the embedded default; "production" demands real secrets.
    honeydue_env: Literal["development", "production"] = "development"
    honeydue_var_dir: Path = Path("./var")

    database_url: str = ""
    redis_url: str | None = None

    b2_endpoint: str | None = None
    b2_region: str = "us-east-1"
    b2_bucket_name: str | None = None
    b2_key_id: str | None = None
    b2_app_key: str | None = None
    # The old service read only STORAGE_USE_SSL, silently ignoring B2_USE_SSL;
    # B2_USE_SSL wins, the old name is a deprecated alias (see _warn_deprecated).
    b2_use_ssl: bool = Field(default=True, validation_alias=AliasChoices("B2_USE_SSL", "STORAGE_USE_SSL"))

    # The backup bucket (workers.backup): a second, independent S3 store. Off while BACKUP_ENDPOINT is unset.
    backup_endpoint: str | None = None
    backup_region: str = "us-east-1"
    backup_bucket_name: str | None = None
    backup_key_id: str | None = None
    backup_app_key: str | None = None
    backup_use_ssl: bool = True
    # How long an object the app deleted stays in the backup, so a mistaken deletion can be undone.
    backup_retention_days: int = Field(default=30, ge=1)

    storage_max_file_size: int = Field(default=10 * 1024 * 1024, ge=1)
    # Videos (video/mp4, video/quicktime, video/webm) have their own, larger limit: a phone clip of a minute is
    # tens of megabytes.
    storage_max_video_size: int = Field(default=200 * 1024 * 1024, ge=1)
    storage_allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_TYPES)
    )
    # Remove GPS and device metadata from JPEG, PNG, WebP and HEIC/HEIF at finalize, before they are served
    # (honeydue/media_variants/strip.py). Off only for a deployment that must serve originals bit for bit.
    strip_image_metadata: bool = True

    media_signing_key: str | None = None
    # The key being rotated out: links it signed stay valid until they expire.
    media_signing_key_previous: str | None = None
    public_gateway_url: str | None = None
    # The base of every link the app sends (account pages, one-click unsubscribe); may be a universal-link domain.
    public_app_url: str | None = None

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For (and CLIENT_IP_HEADER) is believed (addresses or CIDR networks).
    # Trusting everyone would let any client pick the address the per-address rate limits count.
    forwarded_allow_ips: str = "127.0.0.1"
    # A header a trusted proxy sets to the client's address (CF-Connecting-IP behind Cloudflare); it wins
    # over X-Forwarded-For. See honeydue.client_address.
    client_ip_header: str | None = None

    token_ttl_days: int = Field(default=30, ge=1)
    # Sessions of admin accounts end sooner: an admin token left in a browser can disable or delete anyone.
    admin_token_ttl_hours: int = Field(default=12, ge=1, le=24 * 365)
    # How long the links of account emails work: a password reset (1 h), an address verification (48 h).
    password_reset_ttl_minutes: int = Field(default=60, ge=5, le=24 * 60)
    email_verification_ttl_hours: int = Field(default=48, ge=1, le=30 * 24)
    upload_rate_per_hour: int = Field(default=50, ge=1)
    upload_pending_limit: int = Field(default=10, ge=1)
    login_attempts_per_15min: int = Field(default=10, ge=1)
    register_attempts_per_hour: int = Field(default=20, ge=1)
    # Largest /graphql request body; a longer one is answered 413 without being read further.
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)

    # How often the reminder jobs run; each run serves the members whose chosen local hour it is.
    reminder_cron: str = "0 * * * *"
    pending_upload_max_age_hours: int = Field(default=24, ge=1)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "honeydue <no-reply@honeydue.local>"
    smtp_starttls: bool = True
    # Seconds to connect and for each SMTP command; a server slower than this counts as a failed attempt. At most
    # 60, so one attempt (a handful of commands) stays within the send_email job's time limit.
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=60)
    # Attempts per email (the first included); transient failures (no connection, timeout, 4xx) are retried
    # after EMAIL_RETRY_BACKOFF_SECONDS, doubling each time (capped at an hour). A 5xx answer is final.
    email_max_attempts: int = Field(default=5, ge=1, le=20)
    email_retry_backoff_seconds: float = Field(default=120.0, gt=0)
    # Notification deliveries outside the app (webhooks, Apprise, push; honeydue.delivery): attempts per
    # delivery, the first included. 429, 5xx, timeouts and connection errors are retried after
    # DELIVERY_RETRY_BACKOFF_SECONDS, doubling each time (capped at an hour), or after the receiver's
    # Retry-After when that is longer. DELIVERY_TIMEOUT_SECONDS bounds one attempt.
    delivery_max_attempts: int = Field(default=6, ge=1, le=20)
    delivery_retry_backoff_seconds: float = Field(default=30.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Webhook and Apprise URLs and Web Push endpoints that resolve to loopback, link-local or private addresses
    # are refused (SSRF into the cluster) unless this is true: for a self-hosted receiver on the LAN, and for the
    # tests. See honeydue.delivery.addresses.
    allow_private_webhooks: bool = False

    # Push (docs/push.md). Each service is off until its settings are given; a partial set is refused by name.
    # APNs token auth: the .p8 key's ID, the team, the key itself (PEM text or a file path) and the app's
    # bundle ID (the apns-topic).
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_private_key: str | None = None
    apns_topic: str | None = None
    apns_environment: Literal["production", "sandbox"] = "production"
    # FCM HTTP v1: the Firebase project and a service-account JSON key file allowed to send messages.
    fcm_project_id: str | None = None
    fcm_credentials_file: Path | None = None
    # Web Push (VAPID, RFC 8292): the P-256 private key (PEM text, a file path, or the raw key in base64url as
    # `honeydue generate-vapid-keys` prints it) and the contact push services may write to (mailto: or https:).
    vapid_private_key: str | None = None
    vapid_subject: str | None = None

    log_level: str = "INFO"
    # The HTTP server `honeydue gateway` runs in (honeydue.serving); chosen by bench/gateway.py's figures.
    gateway_server: Literal["granian", "uvicorn"] = "granian"
    log_format: Literal["json", "text"] = "json"

    @field_validator("storage_allowed_types", "cors_origins", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("database_url", "redis_url", "public_gateway_url", "public_app_url", "media_signing_key",
                     "backup_endpoint", "backup_bucket_name", "backup_key_id", "backup_app_key", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        # A Secret or ConfigMap value of only spaces or a newline is as missing as an empty one.
        return value.strip() if isinstance(value, str) else value

    @field_validator("apns_key_id", "apns_team_id", "apns_private_key", "apns_topic", "fcm_project_id",
                     "fcm_credentials_file", "vapid_private_key", "vapid_subject", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty Secret key is as unset as a missing one (and must not become the path ".").
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if not item or item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("client_ip_header")
    @classmethod
    def _check_client_ip_header(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
            raise ValueError("must be a header name such as CF-Connecting-IP")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in DATABASE_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(DATABASE_SCHEMES)}")
        return value

    @field_validator("public_gateway_url", "public_app_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.honeydue_env == "production" and not self.media_signing_key:
            raise ValueError("MEDIA_SIGNING_KEY is required when HONEYDUE_ENV=production")
        if self.honeydue_env == "production" and not self.public_gateway_url:
            # Otherwise every media link would silently point at a loopback address.
            raise ValueError("PUBLIC_GATEWAY_URL is required when HONEYDUE_ENV=production")
        if self.honeydue_env == "production" and not self.public_app_url:
            # Otherwise every password-reset and verification link would point at a loopback address.
            raise ValueError("PUBLIC_APP_URL is required when HONEYDUE_ENV=production (the base of the links "
                             "the app sends)")
        if self.honeydue_env == "production":
            # Without these a replica would "work" on a throwaway SQLite file and in-process jobs,
            # pass its readiness check, and lose every write when the pod goes. An empty value is missing.
            if not self.database_url:
                raise ValueError("DATABASE_URL is required when HONEYDUE_ENV=production (a postgres:// URL)")
            if urlsplit(self.database_url).scheme not in POSTGRES_SCHEMES:
                raise ValueError("DATABASE_URL must be a postgres:// URL when HONEYDUE_ENV=production")
            if not self.redis_url:
                raise ValueError("REDIS_URL is required when HONEYDUE_ENV=production")
        if self.b2_endpoint and not self.b2_bucket_name:
            raise ValueError("B2_BUCKET_NAME is required when B2_ENDPOINT is set")
        self._check_backup()
        self._check_push()
        return self

    def _check_push(self) -> None:
        """Each push service is all of its settings or none: a partial one would fail every send, so say so now."""
        groups: dict[str, dict[str, object]] = {
            "APNS_*": {"APNS_KEY_ID": self.apns_key_id, "APNS_TEAM_ID": self.apns_team_id,
                       "APNS_PRIVATE_KEY": self.apns_private_key, "APNS_TOPIC": self.apns_topic},
            "FCM_*": {"FCM_PROJECT_ID": self.fcm_project_id, "FCM_CREDENTIALS_FILE": self.fcm_credentials_file},
            "VAPID_*": {"VAPID_PRIVATE_KEY": self.vapid_private_key, "VAPID_SUBJECT": self.vapid_subject},
        }
        for group, given in groups.items():
            missing = [name for name, value in given.items() if not value]
            if missing and len(missing) < len(given):
                raise ValueError(f"{missing[0]} is required when any {group} push setting is set (docs/push.md)")
        if self.vapid_subject and not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError("VAPID_SUBJECT must be a mailto: or https:// URL (RFC 8292): how a push service "
                             "reaches the operator")

    def _check_backup(self) -> None:
        """A backup is all four BACKUP_* values or none; production refuses a partial one by name."""
        given = {
            "BACKUP_ENDPOINT": self.backup_endpoint, "BACKUP_BUCKET_NAME": self.backup_bucket_name,
            "BACKUP_KEY_ID": self.backup_key_id, "BACKUP_APP_KEY": self.backup_app_key,
        }
        if not any(given.values()):
            return
        missing = [name for name, value in given.items() if not value]
        if self.backup_endpoint and "BACKUP_BUCKET_NAME" in missing:
            raise ValueError("BACKUP_BUCKET_NAME is required when BACKUP_ENDPOINT is set")
        if missing and self.honeydue_env == "production":
            raise ValueError(f"{missing[0]} is required when any BACKUP_* bucket setting is set "
                             f"(HONEYDUE_ENV=production; a partial backup configuration would back up nothing)")

    # Derived values -------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.honeydue_var_dir / 'honeydue.sqlite3'}"

    @property
    def effective_public_gateway_url(self) -> str:
        """The base of media links: ``PUBLIC_GATEWAY_URL``, else the gateway's default address."""
        return self.public_gateway_url or DEFAULT_PUBLIC_GATEWAY_URL

    @property
    def effective_public_app_url(self) -> str:
        """The base of the app's own links: ``PUBLIC_APP_URL``, else the API's default address."""
        return self.public_app_url or DEFAULT_PUBLIC_APP_URL

    @property
    def mail_dir(self) -> Path:
        """Where emails go as ``.eml`` files when ``SMTP_HOST`` is unset."""
        return self.honeydue_var_dir / "mail"

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.effective_database_url).scheme != "sqlite"

    @property
    def media_dir(self) -> Path:
        return self.honeydue_var_dir / "media"

    @property
    def uses_s3(self) -> bool:
        return bool(self.b2_endpoint)

    @property
    def uses_backup(self) -> bool:
        """A backup bucket is configured (``BACKUP_ENDPOINT``); the ``backup_storage`` job copies to it."""
        return bool(self.backup_endpoint)

    def signing_keys(self) -> list[bytes]:
        """Current key first, then the one being rotated out."""
        keys = [self.media_signing_key or ensure_local_signing_key(self.honeydue_var_dir)]
        if self.media_signing_key_previous:
            keys.append(self.media_signing_key_previous)
        return [k.encode() for k in keys]


def ensure_local_signing_key(var_dir: Path) -> str:
    """Embedded mode makes a signing key once and keeps it under ./var/."""
    path = var_dir / "media-signing-key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # A name of its own per process: the api and the gateway start at once in split mode, and a
    # shared temporary name let one process unlink the file the other was still writing.
    tmp = var_dir / f"media-signing-key.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)  # atomic: two processes starting at once agree on one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _field_env_name(loc: tuple[object, ...]) -> str:
    if not loc:
        return "configuration"
    name = str(loc[0])
    if name == "b2_use_ssl":
        return "B2_USE_SSL"
    return name.upper()


# Messages of the cross-field checks, which already name their variable.
PRODUCTION_REQUIRED = ("MEDIA_SIGNING_KEY", "B2_BUCKET_NAME", "PUBLIC_GATEWAY_URL", "PUBLIC_APP_URL", "DATABASE_URL",
                       "REDIS_URL", "BACKUP_", "APNS_", "FCM_", "VAPID_")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the configuration; raise ConfigError naming the variable."""
    env = dict(os.environ if environ is None else environ)
    if "STORAGE_USE_SSL" in env:
        if "B2_USE_SSL" in env:
            log.warning("STORAGE_USE_SSL is deprecated and ignored because B2_USE_SSL is set")
            env.pop("STORAGE_USE_SSL")
        else:
            log.warning("STORAGE_USE_SSL is deprecated; set B2_USE_SSL instead")
    try:
        return Settings(**_lowercase_known(env))
    except ValidationError as exc:
        err = exc.errors()[0]
        name = _field_env_name(tuple(err.get("loc", ())))
        message = err.get("msg", "invalid value").removeprefix("Value error, ")
        if name == "configuration" or message.startswith(PRODUCTION_REQUIRED):
            raise ConfigError(f"configuration error: {message}") from None
        raise ConfigError(f"configuration error: {name}: {message}") from None


def _lowercase_known(env: dict[str, str]) -> dict[str, Any]:
    """Pass only our own variables, so unrelated environment never trips validation.

    The values are raw strings typed ``Any``: pydantic, not the caller, coerces them to the field types.
    """
    out: dict[str, Any] = {}
    fields = Settings.model_fields
    for key, value in env.items():
        lower = key.lower()
        if key in ("B2_USE_SSL", "STORAGE_USE_SSL"):
            out[key] = value
        elif lower in fields and lower != "b2_use_ssl":
            out[lower] = value
    return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def settings_or_exit() -> Settings:
    """For commands: the settings, or the one-line configuration error on stderr and exit status 2."""
    try:
        return get_settings()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def reset_settings_cache() -> None:
    get_settings.cache_clear()

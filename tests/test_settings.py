"""Configuration: every bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from honeydue.settings import ConfigError, load_settings

PRODUCTION = {
    "HONEYDUE_ENV": "production", "MEDIA_SIGNING_KEY": "k" * 40, "PUBLIC_GATEWAY_URL": "https://media.example",
    "PUBLIC_APP_URL": "https://app.example",
    "DATABASE_URL": "postgres://honeydue@db.example:5432/honeydue", "REDIS_URL": "redis://redis:6379/0",
}


def _without(env: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != name}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STORAGE_MAX_FILE_SIZE": "abc"}, "STORAGE_MAX_FILE_SIZE"),
        ({"STORAGE_MAX_FILE_SIZE": "0"}, "STORAGE_MAX_FILE_SIZE"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"HONEYDUE_ENV": "production"}, "MEDIA_SIGNING_KEY"),
        ({"HONEYDUE_ENV": "production", "MEDIA_SIGNING_KEY": "k" * 40}, "PUBLIC_GATEWAY_URL"),
        ({"B2_USE_SSL": "maybe"}, "B2_USE_SSL"),
        ({"PUBLIC_GATEWAY_URL": "ftp://cdn"}, "PUBLIC_GATEWAY_URL"),
        ({"B2_ENDPOINT": "http://s3.local"}, "B2_BUCKET_NAME"),
        ({"TOKEN_TTL_DAYS": "-1"}, "TOKEN_TTL_DAYS"),
        ({"EMAIL_MAX_ATTEMPTS": "0"}, "EMAIL_MAX_ATTEMPTS"),
        ({"EMAIL_RETRY_BACKOFF_SECONDS": "0"}, "EMAIL_RETRY_BACKOFF_SECONDS"),
        ({"SMTP_TIMEOUT_SECONDS": "300"}, "SMTP_TIMEOUT_SECONDS"),
        ({"SMTP_STARTTLS": "sometimes"}, "SMTP_STARTTLS"),
        # Production never falls back to the embedded SQLite file or to in-process jobs; empty is missing.
        pytest.param({**PRODUCTION, "DATABASE_URL": ""}, "DATABASE_URL", id="production-empty-DATABASE_URL"),
        pytest.param({**PRODUCTION, "DATABASE_URL": " \n"}, "DATABASE_URL", id="production-blank-DATABASE_URL"),
        pytest.param(_without(PRODUCTION, "DATABASE_URL"), "DATABASE_URL", id="production-no-DATABASE_URL"),
        pytest.param({**PRODUCTION, "DATABASE_URL": "sqlite:///tmp/h.sqlite3"}, "DATABASE_URL",
                     id="production-sqlite-DATABASE_URL"),
        pytest.param({**PRODUCTION, "REDIS_URL": ""}, "REDIS_URL", id="production-empty-REDIS_URL"),
        pytest.param(_without(PRODUCTION, "PUBLIC_APP_URL"), "PUBLIC_APP_URL", id="production-no-PUBLIC_APP_URL"),
        pytest.param({**PRODUCTION, "PUBLIC_APP_URL": " "}, "PUBLIC_APP_URL", id="production-blank-PUBLIC_APP_URL"),
        pytest.param({"PUBLIC_APP_URL": "app.example.com"}, "PUBLIC_APP_URL", id="PUBLIC_APP_URL-no-scheme"),
        pytest.param(_without(PRODUCTION, "REDIS_URL"), "REDIS_URL", id="production-no-REDIS_URL"),
        # A backup bucket is all of BACKUP_* or none; production names the first one missing.
        pytest.param({"BACKUP_ENDPOINT": "https://s3.eu-central-003.backblazeb2.com"}, "BACKUP_BUCKET_NAME",
                     id="BACKUP_ENDPOINT-without-bucket"),
        pytest.param({**PRODUCTION, "BACKUP_ENDPOINT": "https://r2.example", "BACKUP_BUCKET_NAME": "b",
                      "BACKUP_KEY_ID": "id"}, "BACKUP_APP_KEY", id="production-partial-backup-no-BACKUP_APP_KEY"),
        pytest.param({**PRODUCTION, "BACKUP_BUCKET_NAME": "b", "BACKUP_KEY_ID": "id", "BACKUP_APP_KEY": "k"},
                     "BACKUP_ENDPOINT", id="production-partial-backup-no-BACKUP_ENDPOINT"),
        pytest.param({"BACKUP_RETENTION_DAYS": "0"}, "BACKUP_RETENTION_DAYS", id="BACKUP_RETENTION_DAYS-zero"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else v,
)
def test_bad_value_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_defaults_are_the_embedded_ones() -> None:
    s = load_settings({})
    assert s.effective_database_url.startswith("sqlite://")
    assert s.redis_url is None and not s.uses_s3
    assert s.storage_max_file_size == 10 * 1024 * 1024
    assert s.storage_max_video_size == 200 * 1024 * 1024
    assert s.storage_allowed_types == ["image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
                                       "image/heif", "application/pdf",
                                       "video/mp4", "video/quicktime", "video/webm"]
    assert s.b2_use_ssl is True
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls, s.smtp_timeout_seconds) == (None, 587, True, 30.0)
    assert (s.email_max_attempts, s.email_retry_backoff_seconds) == (5, 120.0)


def test_b2_use_ssl_is_honoured() -> None:
    # The old service only read STORAGE_USE_SSL, so B2_USE_SSL=false was silently ignored.
    assert load_settings({"B2_USE_SSL": "false"}).b2_use_ssl is False


def test_storage_use_ssl_is_a_deprecated_alias(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="honeydue.settings"):
        assert load_settings({"STORAGE_USE_SSL": "false"}).b2_use_ssl is False
    assert "deprecated" in caplog.text


def test_b2_use_ssl_wins_over_the_alias(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="honeydue.settings"):
        assert load_settings({"STORAGE_USE_SSL": "false", "B2_USE_SSL": "true"}).b2_use_ssl is True
    assert "ignored" in caplog.text


def test_allowed_types_comma_list() -> None:
    s = load_settings({"STORAGE_ALLOWED_TYPES": "image/png, application/pdf"})
    assert s.storage_allowed_types == ["image/png", "application/pdf"]


def test_embedded_signing_key_is_made_once_and_kept(tmp_path) -> None:
    s = load_settings({"HONEYDUE_VAR_DIR": str(tmp_path)})
    first = s.signing_keys()
    assert first == load_settings({"HONEYDUE_VAR_DIR": str(tmp_path)}).signing_keys()
    assert (tmp_path / "media-signing-key").stat().st_mode & 0o077 == 0


@pytest.mark.e2e
def test_processes_starting_at_once_agree_on_one_signing_key(tmp_path) -> None:
    """Split mode starts the api and the gateway together; both must read the same key and neither fail."""
    # Every process sleeps until the same instant, then races for the key file.
    script = (
        "import sys, time, pathlib\n"
        "from honeydue.settings import ensure_local_signing_key\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "print(ensure_local_signing_key(pathlib.Path(sys.argv[1])))\n"
    )
    for round_ in range(3):
        var_dir = tmp_path / f"round{round_}"
        at = str(time.time() + 1.2)
        starts = [subprocess.Popen([sys.executable, "-c", script, str(var_dir), at], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = [p.communicate(timeout=60) for p in starts]
        assert [p.returncode for p in starts] == [0] * 8, [err for _, err in results]
        assert len({out.strip() for out, _ in results}) == 1
        assert sorted(f.name for f in var_dir.iterdir()) == ["media-signing-key"]


@pytest.mark.e2e
def test_cli_prints_one_line_and_exits_2_on_bad_config(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "honeydue.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "STORAGE_MAX_FILE_SIZE": "abc", "HONEYDUE_VAR_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "STORAGE_MAX_FILE_SIZE" in lines[0]


def test_a_complete_production_configuration_loads() -> None:
    s = load_settings(PRODUCTION)
    assert s.is_postgres and s.redis_url == "redis://redis:6379/0"


@pytest.mark.e2e
def test_production_without_a_database_stops_migrate_before_it_touches_sqlite(tmp_path) -> None:
    """``migrate`` used to "succeed" against a throwaway SQLite file under HONEYDUE_VAR_DIR."""
    env = _without(PRODUCTION, "DATABASE_URL")
    result = subprocess.run(
        [sys.executable, "-m", "honeydue.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "HONEYDUE_VAR_DIR": str(tmp_path / "var"), **env, "DATABASE_URL": ""},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "configuration error: DATABASE_URL is required when HONEYDUE_ENV=production (a postgres:// URL)"]
    assert not (tmp_path / "var").exists()


def test_media_links_default_to_the_gateways_own_address_in_development() -> None:
    """Without PUBLIC_GATEWAY_URL, `honeydue api` on any port links to where `honeydue gateway` listens."""
    assert load_settings({}).effective_public_gateway_url == "http://127.0.0.1:8001"
    assert load_settings({"PUBLIC_GATEWAY_URL": "https://media.example/"}).effective_public_gateway_url == (
        "https://media.example")


def test_app_links_default_to_the_apis_own_address_in_development() -> None:
    assert load_settings({}).effective_public_app_url == "http://127.0.0.1:8000"
    assert load_settings({"PUBLIC_APP_URL": "https://app.example/"}).effective_public_app_url == "https://app.example"


def test_production_without_public_app_url_is_one_line_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_without(PRODUCTION, "PUBLIC_APP_URL"))
    assert str(caught.value) == ("configuration error: PUBLIC_APP_URL is required when HONEYDUE_ENV=production "
                                 "(the base of the links the app sends)")


def test_app_link_joins_the_base_path_and_encoded_query() -> None:
    from honeydue.links import app_link

    settings = load_settings({"PUBLIC_APP_URL": "https://links.example/app/"})
    assert app_link(settings, "/account/reset-password", token="abc-_123") == (
        "https://links.example/app/account/reset-password?token=abc-_123")
    assert app_link(settings, "/calendar") == "https://links.example/app/calendar"
    assert app_link(settings, "/x", q="a b&c=d") == "https://links.example/app/x?q=a+b%26c%3Dd"
    with pytest.raises(ValueError):
        app_link(settings, "account")


@pytest.mark.parametrize(
    ("env", "host", "expected"),
    [
        ({}, "127.0.0.1", {"PUBLIC_GATEWAY_URL": "http://127.0.0.1:9000", "PUBLIC_APP_URL": "http://127.0.0.1:9000"}),
        ({}, "0.0.0.0", {"PUBLIC_GATEWAY_URL": "http://127.0.0.1:9000", "PUBLIC_APP_URL": "http://127.0.0.1:9000"}),
        ({"PUBLIC_APP_URL": "https://app.example"}, "192.0.2.5", {"PUBLIC_GATEWAY_URL": "http://192.0.2.5:9000"}),
        ({"PUBLIC_APP_URL": "https://a.example", "PUBLIC_GATEWAY_URL": "https://m.example"}, "127.0.0.1", {}),
    ],
)
def test_serve_points_unset_links_at_its_own_address(env: dict[str, str], host: str, expected: dict) -> None:
    from honeydue.cli import serve_link_defaults

    assert serve_link_defaults(load_settings(env), host, 9000) == expected

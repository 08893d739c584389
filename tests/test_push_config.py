"""Push settings: each service all or none, VAPID_SUBJECT's shape, blanks unset; `honeydue generate-vapid-keys`;
`check-config` parsing whichever push keys are set."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from honeydue.check_config import check_apns, check_fcm, check_webpush
from honeydue.delivery.keys import (
    configured_vapid_public_key,
    load_ec_private_key,
    vapid_public_key,
    vapid_raw_private_key,
)
from honeydue.settings import ConfigError, load_settings


@pytest.mark.parametrize(("env", "named"), [
    ({"APNS_KEY_ID": "ABC123DEFG"}, "APNS_TEAM_ID"),
    ({"APNS_KEY_ID": "ABC123DEFG", "APNS_TEAM_ID": "T", "APNS_PRIVATE_KEY": "k"}, "APNS_TOPIC"),
    ({"FCM_PROJECT_ID": "p"}, "FCM_CREDENTIALS_FILE"),
    ({"FCM_CREDENTIALS_FILE": "/x.json"}, "FCM_PROJECT_ID"),
    ({"VAPID_PRIVATE_KEY": "k"}, "VAPID_SUBJECT"),
    ({"VAPID_PRIVATE_KEY": "k", "VAPID_SUBJECT": "ops@example.com"}, "VAPID_SUBJECT"),
    ({"APNS_ENVIRONMENT": "staging"}, "APNS_ENVIRONMENT"),
])
def test_a_partial_or_malformed_push_configuration_names_the_variable(env: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_blank_push_settings_are_unset() -> None:
    settings = load_settings({"FCM_CREDENTIALS_FILE": " ", "FCM_PROJECT_ID": "", "VAPID_PRIVATE_KEY": "\n"})
    assert (settings.fcm_credentials_file, settings.fcm_project_id, settings.vapid_private_key) == (None, None, None)
    assert configured_vapid_public_key(settings.vapid_private_key) is None


@pytest.mark.e2e  # starts `honeydue` processes
def test_generate_vapid_keys_prints_a_key_the_settings_accept() -> None:
    out = subprocess.run([sys.executable, "-m", "honeydue.cli", "generate-vapid-keys"], capture_output=True,
                         text=True, check=True).stdout
    private = out.splitlines()[0].removeprefix("VAPID_PRIVATE_KEY=")
    public = out.splitlines()[1].rsplit(" ", 1)[1]
    settings = load_settings({"VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:ops@example.com"})
    assert configured_vapid_public_key(settings.vapid_private_key) == public
    assert vapid_public_key(load_ec_private_key(private, "VAPID_PRIVATE_KEY", raw_allowed=True)) == public


# --- check-config: whichever push keys are set parse --------------------------------------------------------


def _p8(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _service_account(path: Path, **changes: object) -> Path:
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "honeydue-test", "private_key_id": "abc", "private_key": pem,
            "client_email": "fcm@honeydue-test.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}
    path.write_text(json.dumps({**info, **changes}))
    return path


def test_unset_push_services_are_skipped() -> None:
    settings = load_settings({})
    assert [(r.name, r.skipped) for r in (check_apns(settings), check_fcm(settings), check_webpush(settings))] == [
        ("apns", True), ("fcm", True), ("webpush", True)]


def test_configured_push_keys_that_parse_pass(tmp_path: Path) -> None:
    vapid = ec.generate_private_key(ec.SECP256R1())
    settings = load_settings({
        "APNS_KEY_ID": "ABC123DEFG", "APNS_TEAM_ID": "DEF123GHIJ", "APNS_PRIVATE_KEY": str(_p8(tmp_path / "k.p8")),
        "APNS_TOPIC": "com.example.honeydue", "FCM_PROJECT_ID": "honeydue-test",
        "FCM_CREDENTIALS_FILE": str(_service_account(tmp_path / "sa.json")),
        "VAPID_PRIVATE_KEY": vapid_raw_private_key(vapid), "VAPID_SUBJECT": "mailto:ops@example.com"})
    results = [check_apns(settings), check_fcm(settings), check_webpush(settings)]
    assert [(r.ok, r.skipped, r.warning) for r in results] == [(True, False, False)] * 3, results
    assert vapid_public_key(vapid) in results[2].detail and vapid_raw_private_key(vapid) not in results[2].detail


@pytest.mark.parametrize(("env", "check", "says"), [
    ({"APNS_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"}, check_apns,
     "APNS_PRIVATE_KEY: does not parse"),
    ({"APNS_PRIVATE_KEY": "/nonexistent/AuthKey.p8"}, check_apns, "APNS_PRIVATE_KEY: neither PEM text nor"),
    ({"FCM_CREDENTIALS_FILE": "/nonexistent/sa.json"}, check_fcm, "FCM_CREDENTIALS_FILE: cannot read"),
    ({"VAPID_PRIVATE_KEY": "too-short"}, check_webpush, "VAPID_PRIVATE_KEY: does not parse"),
])
def test_a_key_that_does_not_parse_fails_naming_the_setting(tmp_path: Path, env: dict, check, says: str) -> None:
    base = {"APNS_KEY_ID": "ABC123DEFG", "APNS_TEAM_ID": "DEF123GHIJ", "APNS_TOPIC": "com.example.honeydue",
            "APNS_PRIVATE_KEY": str(_p8(tmp_path / "k.p8")), "FCM_PROJECT_ID": "honeydue-test",
            "FCM_CREDENTIALS_FILE": str(_service_account(tmp_path / "sa.json")),
            "VAPID_PRIVATE_KEY": vapid_raw_private_key(ec.generate_private_key(ec.SECP256R1())),
            "VAPID_SUBJECT": "mailto:ops@example.com"}
    result = check(load_settings({**base, **env}))
    assert not result.ok and result.detail.startswith(says), result


def test_a_service_account_file_that_is_not_one_fails(tmp_path: Path) -> None:
    for changes, says in (({"type": "authorized_user"}, "not a service_account key"),
                          ({"private_key": "nope"}, "does not parse"), ({"client_email": ""}, "lacks client_email")):
        path = _service_account(tmp_path / "sa.json", **changes)
        result = check_fcm(load_settings({"FCM_PROJECT_ID": "honeydue-test", "FCM_CREDENTIALS_FILE": str(path)}))
        assert not result.ok and says in result.detail, result
    other = _service_account(tmp_path / "other.json", project_id="someone-else")
    warned = check_fcm(load_settings({"FCM_PROJECT_ID": "honeydue-test", "FCM_CREDENTIALS_FILE": str(other)}))
    assert warned.ok and warned.warning and "someone-else" in warned.detail


@pytest.mark.e2e  # starts `honeydue` processes
def test_check_config_command_shows_the_push_checks_and_masks_the_keys(tmp_path: Path) -> None:
    vapid = vapid_raw_private_key(ec.generate_private_key(ec.SECP256R1()))
    pem = _p8(tmp_path / "k.p8").read_text()
    env = {"HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text",
           "APNS_KEY_ID": "ABC123DEFG", "APNS_TEAM_ID": "DEF123GHIJ", "APNS_PRIVATE_KEY": pem,
           "APNS_TOPIC": "com.example.honeydue", "VAPID_PRIVATE_KEY": vapid, "VAPID_SUBJECT": "mailto:ops@example.com"}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "APNS_",
                                                                      "FCM_", "VAPID_"))}
    run = functools.partial(subprocess.run, env={**base, **env}, capture_output=True, text=True, timeout=120)
    assert run([sys.executable, "-m", "honeydue.cli", "migrate"]).returncode == 0
    result = run([sys.executable, "-m", "honeydue.cli", "check-config"])
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.split()[:2] == ["ok", "apns"] for line in lines), result.stdout
    assert any(line.split()[:2] == ["skip", "fcm"] for line in lines), result.stdout
    assert any(line.split()[:2] == ["ok", "webpush"] for line in lines), result.stdout
    assert "  APNS_PRIVATE_KEY=****" in lines and "  VAPID_PRIVATE_KEY=****" in lines
    assert vapid not in result.stdout and "BEGIN PRIVATE KEY" not in result.stdout

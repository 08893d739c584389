"""Push settings: each service all or none, VAPID_SUBJECT's shape, blanks unset; `honeydue generate-vapid-keys`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from honeydue.delivery.keys import configured_vapid_public_key, load_ec_private_key, vapid_public_key
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


def test_generate_vapid_keys_prints_a_key_the_settings_accept() -> None:
    out = subprocess.run([sys.executable, "-m", "honeydue.cli", "generate-vapid-keys"], capture_output=True,
                         text=True, check=True).stdout
    private = out.splitlines()[0].removeprefix("VAPID_PRIVATE_KEY=")
    public = out.splitlines()[1].rsplit(" ", 1)[1]
    settings = load_settings({"VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:ops@example.com"})
    assert configured_vapid_public_key(settings.vapid_private_key) == public
    assert vapid_public_key(load_ec_private_key(private, "VAPID_PRIVATE_KEY", raw_allowed=True)) == public

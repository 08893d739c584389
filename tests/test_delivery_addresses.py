"""The SSRF guard of Web Push endpoints when stored (``honeydue.delivery.addresses.url_problem``); the check
right before a send (``honeydue.delivery.ssrf``) is tested with the transports."""

from __future__ import annotations

import pytest

from honeydue.delivery.addresses import url_problem

REFUSED = [
    "http://push.example.net/x",  # not https
    "ftp://push.example.net/x",
    "https:///x",  # no host
    "https://user:secret@push.example.net/x",
    "https://push.example.net:99999/x",  # not a port
    "https://127.0.0.1/x",
    "https://127.8.9.10/x",
    "https://10.0.0.1/x",
    "https://172.16.5.4/x",
    "https://192.168.0.10/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",  # carrier-grade NAT, not global
    "https://0.0.0.0/x",
    "https://[::1]/x",
    "https://[fe80::1]/x",
    "https://[fd00::1]/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://localhost/x",
    "https://LOCALHOST./x",
    "https://api.localhost/x",
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused_urls_say_why(url: str) -> None:
    problem = url_problem(url)
    assert problem and problem[0].islower(), (url, problem)


@pytest.mark.parametrize("url", ["https://fcm.googleapis.com/fcm/send/abc", "https://8.8.8.8/x",
                                 "https://[2606:4700::1111]/x", "https://web.push.apple.com:443/Q"])
def test_public_https_urls_are_accepted_without_reading_dns(url: str) -> None:
    assert url_problem(url) is None


def test_allow_private_lifts_the_address_rule_but_not_the_scheme() -> None:
    assert url_problem("https://127.0.0.1:8443/x", allow_private=True) is None
    assert url_problem("http://127.0.0.1:8443/x", allow_private=True) is not None
    assert url_problem("http://127.0.0.1:8443/x", schemes=("http", "https"), allow_private=True) is None

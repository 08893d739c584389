"""The SSRF guard of outgoing deliveries (``honeydue.delivery.addresses``): what may be stored, and what the
host resolves to right before a send."""

from __future__ import annotations

import pytest

from honeydue.delivery.addresses import resolved_problem, url_problem

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


def resolver_of(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(-2, "Name or service not known")
        return table[host]
    return resolve


async def test_a_public_name_that_resolves_to_a_private_address_is_refused_before_sending() -> None:
    resolve = resolver_of({"push.example.net": ["93.184.216.34"], "sneaky.example.net": ["93.184.216.34", "10.0.0.5"],
                           "metadata.example.net": ["169.254.169.254"]})
    assert await resolved_problem("https://push.example.net/x", resolver=resolve) is None
    assert "10.0.0.5" in (await resolved_problem("https://sneaky.example.net/x", resolver=resolve) or "")
    assert "link-local" in (await resolved_problem("https://metadata.example.net/x", resolver=resolve) or "")
    assert "does not resolve" in (await resolved_problem("https://gone.example.net/x", resolver=resolve) or "")
    assert await resolved_problem("https://sneaky.example.net/x", resolver=resolve, allow_private=True) is None
    assert "loopback" in (await resolved_problem("https://127.0.0.1:9/x") or "")

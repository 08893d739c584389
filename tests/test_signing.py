"""Signed gateway links: windowed expiries, tamper detection, rotation, domain separation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from honeydue import signing
from honeydue.signing import (
    WINDOW_SECONDS,
    sign_media_url,
    sign_upload,
    snap_expiry,
    verify_media_signature,
    verify_upload,
)

CURRENT, PREVIOUS, OTHER = b"current-key-" + b"c" * 30, b"previous-key-" + b"p" * 30, b"other-" + b"o" * 30
KEY = "residences/5f2c/documents/0a1b.pdf"
NOW = 1_800_000_123


def link_parts(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return unquote(parts.path.removeprefix("/media/")), query["exp"][0], query["sig"][0]


@pytest.mark.parametrize(
    ("now", "expires_in", "expected"),
    [
        (0, 1, WINDOW_SECONDS),
        (0, WINDOW_SECONDS, WINDOW_SECONDS),  # already on a boundary: stays
        (10, WINDOW_SECONDS, 2 * WINDOW_SECONDS),
        (WINDOW_SECONDS - 1, 1, WINDOW_SECONDS),
        (NOW, 900, 1_800_003_600),
    ],
)
def test_expiry_snaps_up_to_the_window(now: int, expires_in: int, expected: int) -> None:
    assert snap_expiry(now, expires_in) == expected


def test_link_shape_and_round_trip() -> None:
    url = sign_media_url([CURRENT], "https://gw.example/", KEY, 900, now=NOW)
    assert url.startswith("https://gw.example/media/residences/5f2c/documents/0a1b.pdf?exp=")
    key, exp, sig = link_parts(url)
    assert key == KEY and int(exp) % WINDOW_SECONDS == 0 and int(exp) >= NOW + 900
    assert verify_media_signature([CURRENT], key, exp, sig, now=NOW)


def test_everyone_in_a_window_gets_the_same_url() -> None:
    first = sign_media_url([CURRENT], "https://gw", KEY, 900, now=NOW)
    later = sign_media_url([CURRENT], "https://gw", KEY, 900, now=NOW + 60)
    assert first == later


def test_key_with_unsafe_characters_is_quoted_and_still_verifies() -> None:
    key = "users/1/profile/a b?c#d%e.png"
    url = sign_media_url([CURRENT], "https://gw", key, 60, now=NOW)
    assert " " not in url and "#" not in url and url.count("?") == 1
    got_key, exp, sig = link_parts(url)
    assert got_key == key
    assert verify_media_signature([CURRENT], got_key, exp, sig, now=NOW)


def _valid() -> tuple[str, str]:
    _, exp, sig = link_parts(sign_media_url([CURRENT], "https://gw", KEY, 900, now=NOW))
    return exp, sig


def _flip(sig: str) -> str:
    return ("A" if sig[0] != "A" else "B") + sig[1:]


@pytest.mark.parametrize(
    ("case", "keys", "key", "exp", "sig", "now"),
    [
        ("other key", [OTHER], KEY, None, None, NOW),
        ("other object", [CURRENT], KEY + "x", None, None, NOW),
        ("later expiry", [CURRENT], KEY, "+3600", None, NOW),
        ("flipped signature", [CURRENT], KEY, None, "flip", NOW),
        ("expired", [CURRENT], KEY, None, None, 1_800_003_600),
        ("long expired", [CURRENT], KEY, None, None, NOW + 10 * WINDOW_SECONDS),
        ("missing sig", [CURRENT], KEY, None, "", NOW),
        ("missing exp", [CURRENT], KEY, "", None, NOW),
        ("exp not a number", [CURRENT], KEY, "12ab", None, NOW),
        ("negative exp", [CURRENT], KEY, "-1", None, NOW),
        ("absurd exp", [CURRENT], KEY, "9" * 40, None, NOW),
        ("non-ascii sig", [CURRENT], KEY, None, "é" * 43, NOW),
        ("truncated sig", [CURRENT], KEY, None, "trunc", NOW),
        ("padded sig", [CURRENT], KEY, None, "pad", NOW),
        ("no keys", [], KEY, None, None, NOW),
    ],
)
def test_bad_links_are_refused(case, keys, key, exp, sig, now) -> None:
    good_exp, good_sig = _valid()
    exp = good_exp if exp is None else (str(int(good_exp) + 3600) if exp == "+3600" else exp)
    sig = {None: good_sig, "flip": _flip(good_sig), "trunc": good_sig[:-1], "pad": good_sig + "="}.get(sig, sig)
    assert not verify_media_signature(keys, key, exp, sig, now=now), case


def test_rotation_accepts_links_of_the_previous_key() -> None:
    _, exp, sig = link_parts(sign_media_url([PREVIOUS], "https://gw", KEY, 900, now=NOW))
    assert verify_media_signature([CURRENT, PREVIOUS], KEY, exp, sig, now=NOW)
    assert not verify_media_signature([CURRENT], KEY, exp, sig, now=NOW)
    # New links are signed with the current key.
    _, exp, sig = link_parts(sign_media_url([CURRENT, PREVIOUS], "https://gw", KEY, 900, now=NOW))
    assert verify_media_signature([CURRENT], KEY, exp, sig, now=NOW)


def test_upload_signature_binds_every_field() -> None:
    exp = NOW + 900
    sig = sign_upload([CURRENT], KEY, "application/pdf", 1234, exp)
    assert verify_upload([CURRENT, PREVIOUS], KEY, "application/pdf", "1234", str(exp), sig, now=NOW)
    assert verify_upload([CURRENT], KEY, "application/pdf", 1234, exp, sig, now=NOW)
    for changed in [
        (KEY + "x", "application/pdf", "1234", str(exp)),
        (KEY, "image/png", "1234", str(exp)),
        (KEY, "application/pdf", "1235", str(exp)),
        (KEY, "application/pdf", "1234", str(exp + 1)),
        (KEY, "application/pdf", "-1", str(exp)),
        (KEY, "application/pdf", "1234", "soon"),
        (KEY, None, "1234", str(exp)),
    ]:
        assert not verify_upload([CURRENT], *changed, sig, now=NOW), changed
    assert not verify_upload([CURRENT], KEY, "application/pdf", "1234", str(exp), sig, now=exp)


def test_download_and_upload_signatures_are_not_interchangeable() -> None:
    exp = snap_expiry(NOW, 900)
    upload_sig = sign_upload([CURRENT], KEY, "", 0, exp)
    assert not verify_media_signature([CURRENT], KEY, str(exp), upload_sig, now=NOW)
    _, media_exp, media_sig = link_parts(sign_media_url([CURRENT], "https://gw", KEY, 900, now=NOW))
    assert not verify_upload([CURRENT], KEY, "", "0", media_exp, media_sig, now=NOW)


def test_fields_cannot_be_shifted_between_each_other() -> None:
    """Length prefixes: moving a separator between key and type gives a different message."""
    sig = sign_upload([CURRENT], "a\n1:b", "c", 1, NOW + 60)
    assert not verify_upload([CURRENT], "a", "b\n1:c", "1", str(NOW + 60), sig, now=NOW)


@pytest.mark.parametrize("secret", [b"k", b"x" * 64, b"y" * 65, b"z" * 200])
def test_mac_is_standard_hmac_sha256(secret: bytes) -> None:
    message = b"honeydue/media-get/1\n3:key\n4:3600"
    expected = base64.urlsafe_b64encode(hmac.digest(secret, message, hashlib.sha256)).rstrip(b"=")
    assert signing._mac(secret, message) == expected


def test_signing_without_a_key_fails_loudly() -> None:
    with pytest.raises(ValueError):
        sign_media_url([], "https://gw", KEY, 60, now=NOW)
    with pytest.raises(ValueError):
        sign_upload([], KEY, "image/png", 1, NOW)

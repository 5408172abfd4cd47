"""Who the client is: login args and REST auth headers, checked directly (pure, now passed in)."""

from __future__ import annotations

from typing import Any

import pytest

from okx_trio import Credentials
from okx_trio.testing._auth import (
    check_login,
    check_rest_headers,
    login_sign,
    parse_iso_ms,
    sign,
)

CREDS = Credentials("key-1", "SIMSECRET0123456789ABCDEF0123456", "Pass-1")
NOW_MS = 1_700_000_000_000
NOW_S = str(NOW_MS // 1000)


def lookup(api_key: str) -> Credentials | None:
    return CREDS if api_key == CREDS.api_key else None


def test_signature_vectors() -> None:
    # Computed with Python's hmac for OKX's prehash; the second is a REST vector
    # published in an SDK's tests.
    assert login_sign(CREDS.secret_key, "1700000000") == (
        "9UTaFZvZ5RGGMV5iXqHKOjkyrWx5VnL/7GVO/sIZsUo=")
    assert login_sign("22582BD0CFF14C41EDBF1AB98506286D", "1538054050") == (
        "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=")
    assert sign("chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO",
                "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance") == (
        "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k=")
    assert sign("s", "t", "get", "/p") == sign("s", "t", "GET", "/p")


def login_arg(**over: Any) -> dict[str, Any]:
    arg: dict[str, Any] = {"apiKey": CREDS.api_key, "passphrase": CREDS.passphrase,
                           "timestamp": NOW_S, "sign": login_sign(CREDS.secret_key, NOW_S)}
    arg.update(over)
    return arg


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (login_arg(), "key-1"),
        (login_arg(timestamp=int(NOW_S), sign=login_sign(CREDS.secret_key, NOW_S)), "key-1"),
        (login_arg(timestamp=NOW_S + ".5", sign=login_sign(CREDS.secret_key, NOW_S + ".5")),
         "key-1"),
        (login_arg(sign=""), ("60027", "Parameter sign can not be empty.")),
        (login_arg(apiKey=None), ("60027", "Parameter apiKey can not be empty.")),
        (login_arg(apiKey=5), ("60005", "Invalid apiKey")),
        (login_arg(timestamp=True), ("60004", "Invalid timestamp")),
        (login_arg(timestamp="17e8"), ("60004", "Invalid timestamp")),
        (login_arg(timestamp=str(int(NOW_S) - 31)), ("60006", "Timestamp request expired")),
        (login_arg(timestamp=str(int(NOW_S) + 31)), ("60006", "Timestamp request expired")),
        (login_arg(apiKey="other"), ("60032", "API key doesn't exist.")),
        (login_arg(passphrase="wrong"), ("60024", "Wrong passphrase")),
        (login_arg(passphrase=7), ("60024", "Wrong passphrase")),
        (login_arg(sign=login_sign("other", NOW_S)), ("60007", "Invalid sign")),
        (login_arg(sign=7), ("60007", "Invalid sign")),
    ],
)
def test_check_login(arg: dict[str, Any], expected: Any) -> None:
    assert check_login(arg, now_ms=NOW_MS, lookup=lookup) == expected


def test_login_window_is_30_seconds_each_way() -> None:
    for offset in (-30, 30):
        ts = str(int(NOW_S) + offset)
        arg = login_arg(timestamp=ts, sign=login_sign(CREDS.secret_key, ts))
        assert check_login(arg, now_ms=NOW_MS, lookup=lookup) == "key-1"


TARGET = "/api/v5/trade/order?instId=BTC-USDT&ordId=1"
ISO = "2023-11-14T22:13:20.000Z"  # NOW_MS


def headers(**over: str) -> dict[str, str]:
    out = {"ok-access-key": CREDS.api_key, "ok-access-passphrase": CREDS.passphrase,
           "ok-access-timestamp": ISO,
           "ok-access-sign": sign(CREDS.secret_key, ISO, "GET", TARGET)}
    out.update(over)
    return out


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({}, "key-1"),
        ({"ok-access-key": ""}, "50103"),
        ({"ok-access-passphrase": ""}, "50104"),
        ({"ok-access-sign": ""}, "50106"),
        ({"ok-access-timestamp": ""}, "50107"),
        ({"ok-access-timestamp": "1700000000"}, "50112"),
        ({"ok-access-timestamp": "2023-11-14T22:12:49.000Z"}, "50102"),
        ({"ok-access-key": "other"}, "50111"),
        ({"ok-access-passphrase": "wrong"}, "50105"),
        ({"ok-access-sign": sign(CREDS.secret_key, ISO, "GET", "/api/v5/trade/order")},
         "50113"),
    ],
)
def test_check_rest_headers(over: dict[str, str], expected: str) -> None:
    got = check_rest_headers("GET", TARGET, headers(**over), b"", now_ms=NOW_MS,
                             lookup=lookup)
    if expected == "key-1":
        assert got == expected
    else:
        assert isinstance(got, tuple)
        assert (got[0], got[1]) == (401, expected)
        assert got[2]


def test_rest_signature_covers_method_and_body() -> None:
    good = sign(CREDS.secret_key, ISO, "POST", TARGET, '{"a":1}')
    assert check_rest_headers("POST", TARGET, headers(**{"ok-access-sign": good}),
                              b'{"a":1}', now_ms=NOW_MS, lookup=lookup) == "key-1"
    got = check_rest_headers("POST", TARGET, headers(**{"ok-access-sign": good}),
                             b'{"a":2}', now_ms=NOW_MS, lookup=lookup)
    assert isinstance(got, tuple)
    assert got[1] == "50113"


def test_parse_iso_ms() -> None:
    assert parse_iso_ms("2020-12-08T09:08:57.715Z") == 1607418537715
    assert parse_iso_ms("2020-12-08T09:08:57Z") == 1607418537000
    for bad in ("", "2020-12-08 09:08:57.715Z", "1607418537715", "2020-13-08T09:08:57.715Z"):
        assert parse_iso_ms(bad) is None



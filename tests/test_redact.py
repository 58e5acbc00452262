"""Redaction of values under secret-looking keys in raw and attributes JSON."""

from __future__ import annotations

import pyarrow as pa
import pytest

from connectors.redact import REDACTED, is_secret_key, redact, redact_column, redact_json_text

# ---------------------------------------------------------------------------------- Redaction


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("clientSecret", True), ("client_secret", True), ("password", True),
        ("Password", True), ("token", True), ("access_token", True), ("refresh_token", True),
        ("secret", True), ("Authorization", True), ("api_key", True), ("apiKey", True),
        ("X-Api-Key", True), ("private_key", True), ("privateKey", True), ("sessionToken", True),
        ("idToken", True), ("passwd", True), ("Cookie", True), ("Badge Token", True),
        ("rootApiTokenId", False), ("tokenType", False), ("passwordChanged", False),
        ("clientAuthType", False), ("authenticationContext", False), ("credentialType", False),
        ("userName", False), ("key", False), ("apiVersion", False),
    ],
)  # fmt: skip
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_recurses_and_keeps_nulls() -> None:
    value = {"a": [{"password": "p", "x": 1}, {"nested": {"Token": {"v": 1}}}],
             "secret": None, "list_token": ["a", "b"], "ok": "token in a value"}  # fmt: skip
    assert redact(value) == {
        "a": [{"password": REDACTED, "x": 1}, {"nested": {"Token": REDACTED}}],
        "secret": None, "list_token": REDACTED, "ok": "token in a value",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', '{"a": 1}'),  # nothing secret-looking: the very same text
        ('{"note": "token"}', '{"note": "token"}'),  # only in a value: unchanged text
        ('{"apiKey": "k", "b": "é"}', '{"apiKey":"[REDACTED]","b":"é"}'),
        ('{"\\u0074oken": "t"}', '{"token":"[REDACTED]"}'),  # escaped key names are caught
        (None, None),
    ],
)
def test_redact_json_text(text: str | None, expected: str | None) -> None:
    assert redact_json_text(text) == expected


def test_redact_column_in_bulk() -> None:
    column = pa.array(['{"a":1}', None, '{"password":"x"}', '{"b":"secret"}', '{"\\u0074oken":1}'])
    assert redact_column(column).to_pylist() == [
        '{"a":1}', None, '{"password":"[REDACTED]"}', '{"b":"secret"}', '{"token":"[REDACTED]"}',
    ]  # fmt: skip
    assert redact_column(pa.array(['{"a":1}'])).to_pylist() == ['{"a":1}']

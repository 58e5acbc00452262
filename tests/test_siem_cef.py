"""CEF lines: exact text per event, escaping that a CEF parser undoes exactly, severities, and
one line per event in seq order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evidence import __version__
from evidence.siem.mappings import cef
from evidence.store.db import open_store
from tests.siem_builders import (
    FINDING,
    OKTA_RECORD,
    add_event,
    add_finding,
    add_okta,
    ehash,
    eid,
    load_okta,
    reference,
)

HEADER = f"CEF:0|scim-evidence|scim-evidence|{__version__}|"
OCCURRED_MS = "1706779800000"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = open_store(tmp_path / "store.duckdb")
    yield c
    c.close()


def lines(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {d.event_id: d.body for d in cef.documents(con, limit=100_000)}


# --- a CEF parser, written from the spec, to prove the escaping round-trips -----------------

_HEADER_ESCAPES = {"\\": "\\", "|": "|"}
_EXT_ESCAPES = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}


def parse(line: str) -> tuple[list[str], dict[str, str]]:
    """Seven header fields after `CEF:0`, and the extension as a dict, both unescaped."""
    assert line.startswith("CEF:0|")
    header: list[str] = []
    buf: list[str] = []
    i = len("CEF:0|")
    while len(header) < 6:
        c = line[i]
        if c == "\\":
            assert line[i + 1] in _HEADER_ESCAPES, f"bad header escape at {i}"
            buf.append(_HEADER_ESCAPES[line[i + 1]])
            i += 2
            continue
        if c == "|":
            header.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    return header, parse_extension(line[i:])


def parse_extension(ext: str) -> dict[str, str]:
    """Split at unescaped `=`: the key is the word before it, the value runs to the space
    before the next key."""
    chunks: list[list[str]] = [[]]
    i = 0
    while i < len(ext):
        c = ext[i]
        if c == "\\":
            assert ext[i + 1] in _EXT_ESCAPES, f"bad extension escape at {i}"
            chunks[-1].append(_EXT_ESCAPES[ext[i + 1]])
            i += 2
            continue
        if c == "=":
            chunks.append([])
        else:
            chunks[-1].append(c)
        i += 1
    # Escapes are undone per character above, so a decoded "=" never splits a value; a key
    # is never escaped, so rpartition on the raw space is safe.
    texts = ["".join(c) for c in chunks]
    keys, values = [texts[0]], []
    for text in texts[1:-1]:
        value, _, key = text.rpartition(" ")
        values.append(value)
        keys.append(key)
    values.append(texts[-1])
    assert len(set(keys)) == len(keys), keys
    return dict(zip(keys, values, strict=True))


# --- exact lines ---------------------------------------------------------------------------


def test_hr_event(con: duckdb.DuckDBPyConnection) -> None:
    add_event(con, 1, source="workday", action="hr.terminate", outcome="success", person_id="E1001")
    assert lines(con)[eid(1)] == (
        f"{HEADER}hr.terminate|Person terminated|3|rt={OCCURRED_MS} act=hr.terminate "
        f"outcome=success duser=E1001 externalId={eid(1)} cs2Label=person_id cs2=E1001 "
        f"cs5Label=event_hash cs5={ehash(1)} flexString2Label=source flexString2=workday"
    )


def test_account_and_group_events(con: duckdb.DuckDBPyConnection) -> None:
    add_event(
        con,
        1,
        source="github",
        action="account.deactivate",
        outcome="success",
        app="github",
        account_id="1234",
        person_id="E1002",
        inferred=True,
        occurred_at=datetime(2024, 5, 6, 7, 8, 9, 987654, tzinfo=UTC),
    )
    add_event(
        con,
        2,
        source="github",
        action="group.member.add",
        actor="scim-bridge",
        app="github",
        account_id="42",
        entitlement="release-managers",
    )
    add_event(
        con,
        3,
        source="aws",
        action="privilege.revoke",
        outcome="failure",
        actor="admin@example.com",
        app="aws",
        account_id="AIDA1",
        entitlement="prod-admin",
    )
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # the forwarder's reader has no UTC setting
    got = lines(con)
    assert got[eid(1)] == (
        f"{HEADER}account.deactivate|Account deactivated|3|rt=1714979289987 "
        f"act=account.deactivate outcome=success duser=1234 externalId={eid(1)} "
        "cs1Label=app cs1=github cs2Label=person_id cs2=E1002 cs3Label=account_id cs3=1234 "
        f"cs5Label=event_hash cs5={ehash(1)} flexString2Label=source flexString2=github"
    )
    assert got[eid(2)] == (
        f"{HEADER}group.member.add|Group member added|3|rt={OCCURRED_MS} act=group.member.add "
        f"suser=scim-bridge duser=42 externalId={eid(2)} cs1Label=app cs1=github "
        "cs3Label=account_id cs3=42 cs4Label=entitlement cs4=release-managers "
        f"cs5Label=event_hash cs5={ehash(2)} flexString2Label=source flexString2=github"
    )
    assert got[eid(3)] == (
        f"{HEADER}privilege.revoke|Privilege revoked|3|rt={OCCURRED_MS} act=privilege.revoke "
        f"outcome=failure suser=admin@example.com duser=AIDA1 externalId={eid(3)} "
        "cs1Label=app cs1=aws cs3Label=account_id cs3=AIDA1 cs4Label=entitlement "
        f"cs4=prod-admin cs5Label=event_hash cs5={ehash(3)} flexString2Label=source "
        "flexString2=aws"
    )


def test_okta_event(con: duckdb.DuckDBPyConnection) -> None:
    add_okta(con, 7, OKTA_RECORD)
    assert lines(con)[eid(7)] == (
        f"{HEADER}group.user_membership.add|Group member added|3|rt=1709528767089 "
        "act=group.member.add outcome=success suser=admin@example.com "
        "duser=grace@example.com msg=Add user to group membership "
        "externalId=9c3f7a1e-5b2d-11ef-8a6c-0242ac120002 cs2Label=person_id cs2=00utarget1 "
        f"cs4Label=entitlement cs4=Sales cs5Label=event_hash cs5={ehash(7)} "
        "flexString2Label=source flexString2=okta"
    )


def test_unmapped_okta_event_is_named_by_okta(con: duckdb.DuckDBPyConnection) -> None:
    record = OKTA_RECORD | {
        "eventType": "policy.lifecycle.update",
        "displayMessage": "Update policy",
        "target": [],
    }
    add_okta(con, 1, record)
    header, ext = parse(lines(con)[eid(1)])
    assert header[3:] == ["policy.lifecycle.update", "Update policy", "3"]
    assert ext["act"] == "okta.policy.lifecycle.update"
    assert ext["msg"] == "Update policy"
    assert ext["duser"] == "00uadmin1"  # the connector's person: the actor, a User


def test_finding_event(con: duckdb.DuckDBPyConnection) -> None:
    add_finding(con, 9, "finding.open")
    assert lines(con)[eid(9)] == (
        f"{HEADER}finding.open|Finding opened: orphan/terminated_active|8|rt=1707004800000 "
        "act=finding.open outcome=success suser=scim-evidence duser=jdoe "
        f"msg=jdoe is active in github 3 days after E1002's termination. externalId={eid(9)} "
        "cs1Label=app cs1=github cs2Label=person_id cs2=E1002 cs3Label=account_id cs3=1234 "
        f"cs5Label=event_hash cs5={ehash(9)} cs6Label=finding cs6=orphan/terminated_active "
        "flexString1Label=finding_id flexString1=f-123 flexString2Label=source "
        "flexString2=detect"
    )


@pytest.mark.parametrize(
    ("action", "severity", "name", "score"),
    [
        ("finding.open", "info", "Finding opened", 0),
        ("finding.open", "low", "Finding opened", 3),
        ("finding.reopen", "medium", "Finding reopened", 5),
        ("finding.accept", "high", "Finding accepted", 8),
        ("finding.resolve", "critical", "Finding resolved", 10),
        ("finding.resolve", "Critical", "Finding resolved", 10),
        ("finding.open", None, "Finding opened", 3),  # unknown severity: the event default
    ],
)
def test_finding_severity(
    con: duckdb.DuckDBPyConnection, action: str, severity: str | None, name: str, score: int
) -> None:
    add_finding(con, 1, action, severity=severity)
    header, ext = parse(lines(con)[eid(1)])
    assert header[3:] == [action, f"{name}: orphan/terminated_active", str(score)]
    assert ext["act"] == action


@pytest.mark.parametrize("action", [*cef.NAMES, "entra.Other"])
def test_every_action_has_a_name_and_a_fixed_low_severity(
    con: duckdb.DuckDBPyConnection, action: str
) -> None:
    add_event(con, 1, action=action, details={"kind": "k", "subkind": "s"})
    header, _ = parse(lines(con)[eid(1)])
    name = cef.NAMES.get(action, action)
    if action.startswith("finding."):
        name += ": k/s"
    assert header == ["scim-evidence", "scim-evidence", __version__, action, name, "3"]


# --- escaping ------------------------------------------------------------------------------

ADVERSARIAL = [
    "a|b",
    "back\\slash",
    "ends with backslash\\",
    "\\\\double",
    "k=v",
    "x= y =z",
    "\\=",
    "line\nbreak",
    "cr\rlf\r\n",
    "cs1=forged duser=mallory",
    "  spaced  out ",
    "Zoë Ünïcödé 名前 🙂",
    "|\\=\n\r|",
]


@pytest.mark.parametrize("value", ADVERSARIAL)
def test_extension_values_round_trip(con: duckdb.DuckDBPyConnection, value: str) -> None:
    add_event(
        con,
        1,
        source=value,
        action="group.member.add",
        actor=value,
        app=value,
        person_id=value,
        account_id=value,
        entitlement=value,
    )
    line = lines(con)[eid(1)]
    assert "\n" not in line and "\r" not in line
    _, ext = parse(line)
    assert ext == {
        "rt": OCCURRED_MS,
        "act": "group.member.add",
        "suser": value,
        "duser": value,
        "externalId": eid(1),
        "cs1Label": "app",
        "cs1": value,
        "cs2Label": "person_id",
        "cs2": value,
        "cs3Label": "account_id",
        "cs3": value,
        "cs4Label": "entitlement",
        "cs4": value,
        "cs5Label": "event_hash",
        "cs5": ehash(1),
        "flexString2Label": "source",
        "flexString2": value,
    }


@pytest.mark.parametrize("value", ADVERSARIAL)
def test_header_fields_round_trip(con: duckdb.DuckDBPyConnection, value: str) -> None:
    # An unmapped action names both the class id and the event.
    action = f"custom.{value}"
    add_event(con, 1, action=action)
    line = lines(con)[eid(1)]
    assert "\n" not in line and "\r" not in line
    header, ext = parse(line)
    # The header cannot carry a line break: each becomes one space there, and the exact
    # value is still in `act`.
    flat = action.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    assert header == ["scim-evidence", "scim-evidence", __version__, flat, flat, "3"]
    assert ext["act"] == action


def test_escaping_is_exact(con: duckdb.DuckDBPyConnection) -> None:
    add_event(con, 1, action="x|y\\z", entitlement="a\\b=c|d\r\ne")
    line = lines(con)[eid(1)]
    assert line.startswith(f"{HEADER}x\\|y\\\\z|x\\|y\\\\z|3|")
    assert " cs4=a\\\\b\\=c|d\\r\\ne " in line


def test_okta_message_with_line_breaks(con: duckdb.DuckDBPyConnection) -> None:
    record = OKTA_RECORD | {"eventType": "x.y", "displayMessage": "two\nlines | a=b"}
    add_okta(con, 1, record)
    header, ext = parse(lines(con)[eid(1)])
    assert header[4] == "two lines | a=b"
    assert ext["msg"] == "two\nlines | a=b"


# --- one line per event, in seq order, paged -----------------------------------------------


def test_one_line_per_event(con: duckdb.DuckDBPyConnection) -> None:
    count = 0
    if (Path("/work/shared/reference-data/elastic-okta") / "test-okta-system-events.log").exists():
        records = reference("test-okta-system-events.log")[0]
        count = len(load_okta(con, records))
    seq = 1000
    for action in [*cef.NAMES, "okta.thing"]:
        seq += 1
        details = FINDING if action.startswith("finding.") else None
        add_event(con, seq, action=action, details=details)
    odd: list[dict[str, Any]] = [
        {"action": "account.create", "occurred_at": None, "details": None, "raw": None},
        {"action": "okta.x", "raw": {"uuid": "u", "eventType": "x", "target": "not a list"}},
        {"action": "finding.open", "details": {"severity": "high"}},
    ]
    for cols in odd:
        seq += 1
        add_event(con, seq, **cols)
    count += len(cef.NAMES) + 1 + len(odd)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == count
    docs = cef.documents(con, limit=100_000)
    seqs = [s for (s,) in con.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
    assert [d.seq for d in docs] == seqs
    for d in docs:
        assert "\n" not in d.body and "\r" not in d.body
        header, ext = parse(d.body)
        assert header[:3] == ["scim-evidence", "scim-evidence", __version__]
        assert 0 <= int(header[5]) <= 10
        assert ext["act"] and ext["cs5"]
        assert ext["rt"].isdigit()


def test_batches_follow_seq(con: duckdb.DuckDBPyConnection) -> None:
    for seq in (5, 1, 3, 9):
        add_event(con, seq)
    got = cef.documents(con, after_seq=1, limit=2)
    assert [(d.seq, d.event_id) for d in got] == [(3, eid(3)), (5, eid(5))]
    assert [parse(d.body)[1]["externalId"] for d in got] == [eid(3), eid(5)]
    assert [d.seq for d in cef.documents(con, after_seq=5)] == [9]
    assert cef.documents(con, after_seq=9) == []
    assert [d.seq for d in cef.documents(con)] == [1, 3, 5, 9]


def test_parser_catches_bad_escaping() -> None:
    # The parser is strict: an unescaped `=` in a value reads as a forged key.
    assert parse_extension("a=1 b=x\\=y") == {"a": "1", "b": "x=y"}
    assert parse_extension("a=1 b=x y=z") == {"a": "1", "b": "x", "y": "z"}
    with pytest.raises(AssertionError):
        parse_extension("a=bad\\q")
    with pytest.raises(AssertionError):
        parse("CEF:0|a|b|c|d\\x|e|3|k=v")

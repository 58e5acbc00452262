"""HR exports (CSV or JSON, one file or a folder of dated snapshots) → people and hr.* events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.hris.export import read_hris
from evidence.config import source_config
from evidence.errors import ConfigError, InputError
from tests.export_sources import (
    AS_OF,
    DATA,
    HR_COLUMNS,
    check_schemas,
    hr_source,
    read_source,
    rows,
    sha,
    utc,
)

# ---------------------------------------------------------------------------------------- HR


def person(pid: str, email: str, name: str, dept: str, title: str, **kw: Any) -> dict[str, Any]:
    base = {
        "person_id": pid, "email": email, "aliases": None, "display_name": name,
        "department": dept, "title": title, "manager_id": None, "employment_type": "employee",
        "status": "active", "hire_date": None, "termination_date": None, "effective_at": None,
    }  # fmt: skip
    return {**base, **kw}


def test_hris_people_rows_with_new_york_day_boundaries() -> None:
    batch = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    check_schemas(batch)
    assert (batch.source, batch.kind, batch.tenant) == ("workday", "hris", "workday")
    assert batch.as_of == utc(2025, 12, 1)
    assert rows(batch, "people") == [
        person(
            "E1001", "Alice.Smith@Example.com", "Alice Smith", "Engineering", "Staff Engineer",
            aliases="alice@old.example.com;asmith@example.com",
            hire_date=utc(2019, 3, 4, 5),  # EST: midnight is 05:00Z
        ),
        person(
            "E1002", "bob@example.com", "Bob Jones", "Engineering", "Engineer",
            manager_id="E1001", employment_type="contractor", status="leave",
            hire_date=utc(2021, 6, 1, 4),  # EDT: midnight is 04:00Z
        ),
        person(
            "E1003", "carol@example.com", "Carol White", "Finance", "Analyst",
            manager_id="E1001", status="terminated", hire_date=utc(2020, 1, 15, 5),
            # Last day 2025-03-09, the day DST starts: its end is 23:59:59.999999 EDT.
            termination_date=utc(2025, 3, 10, 3, 59, 59, 999999),
        ),
        person(
            "E1004", "dave@example.com", "Dave Brown", "Sales", "Account Executive",
            employment_type="Intern", status="terminated", hire_date=utc(2022, 7, 1, 4),
            # Last day 2025-11-02, the day DST ends: its end is 23:59:59.999999 EST.
            termination_date=utc(2025, 11, 3, 4, 59, 59, 999999),
        ),
        person(
            "E1003", "carol@example.com", "Carol White", "Finance", "Senior Analyst",
            manager_id="E1001", hire_date=utc(2025, 6, 2, 4),
        ),
    ]  # fmt: skip
    (page,) = batch.pages
    assert page.request == "workers.csv"
    assert page.sha256 == sha(DATA / "hris" / "workers.csv")
    assert (page.item_count, page.total_results) == (5, None)


def test_hris_events() -> None:
    batch = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    got = [
        (e["identity"], e["action"], e["native_type"], e["occurred_at"], e["person_id"])
        for e in batch.events.to_pylist()
    ]
    assert got == [
        ("E1001|2019-03-04T05:00:00Z|hr.hire", "hr.hire", "hire", utc(2019, 3, 4, 5), "E1001"),
        ("E1002|2021-06-01T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2021, 6, 1, 4), "E1002"),
        ("E1002|2021-06-01T04:00:00Z|hr.leave", "hr.leave", "leave", utc(2025, 12, 1), "E1002"),
        ("E1003|2020-01-15T05:00:00Z|hr.hire", "hr.hire", "hire", utc(2020, 1, 15, 5), "E1003"),
        (
            "E1003|2020-01-15T05:00:00Z|hr.terminate", "hr.terminate", "terminate",
            utc(2025, 3, 10, 3, 59, 59, 999999), "E1003",
        ),
        ("E1004|2022-07-01T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2022, 7, 1, 4), "E1004"),
        (
            "E1004|2022-07-01T04:00:00Z|hr.terminate", "hr.terminate", "terminate",
            utc(2025, 11, 3, 4, 59, 59, 999999), "E1004",
        ),
        ("E1003|2025-06-02T04:00:00Z|hr.hire", "hr.hire", "hire", utc(2025, 6, 2, 4), "E1003"),
    ]  # fmt: skip
    first = batch.events.to_pylist()[0]
    assert (first["native_id"], first["outcome"], first["actor"], first["app"]) == (
        None, "success", None, None,
    )  # fmt: skip
    # raw is the row's mapped columns only (HR exports carry PII we do not keep), as written.
    assert json.loads(first["raw"]) == {
        "Employee ID": "E1001", "Work Email": "Alice.Smith@Example.com",
        "Preferred Name": "Alice Smith",
        "Other Emails": " alice@old.example.com ; ;asmith@example.com ",
        "Dept": "Engineering", "Job Title": "Staff Engineer", "Manager ID": "",
        "Worker Type": "Regular", "Worker Status": "Active", "Start Date": "2019-03-04",
        "Last Day": "",
    }  # fmt: skip
    assert "CC-100" not in first["raw"] and "Badge Token" not in first["raw"]
    assert json.loads(first["details"]) == {
        "status": "active", "employment_type": "employee", "department": "Engineering",
        "title": "Staff Engineer",
    }  # fmt: skip


def test_hris_json_array_gives_the_same_people(tmp_path: Path) -> None:
    import csv

    with (DATA / "hris" / "workers.csv").open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    path = tmp_path / "workers.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    from_json = read_hris(hr_source(path))
    from_csv = read_hris(hr_source(DATA / "hris" / "workers.csv"))
    check_schemas(from_json)
    assert rows(from_json, "people") == rows(from_csv, "people")
    assert from_json.events.to_pylist() == from_csv.events.to_pylist()


def test_hris_defaults_and_future_dates(tmp_path: Path) -> None:
    """Headers named as canonical fields need no map; status is derived; future events wait."""
    path = tmp_path / "people.csv"
    path.write_text(
        "person_id,email,hire_date,termination_date,effective_date\n"
        "P1,p1@example.com,2026-01-05,,2025-11-01T09:30:00\n"
        "P2,p2@example.com,2020-01-01,2025-12-31,\n"
        "P3,p3@example.com,2020-01-01T08:00:00+01:00,2025-11-30T17:00:00Z,\n",
        encoding="utf-8",
    )
    src = source_config(name="hr", kind="hris", path=path, as_of=AS_OF)
    batch = read_hris(src)
    check_schemas(batch)
    got = [(r["person_id"], r["status"], r["hire_date"], r["termination_date"], r["effective_at"])
           for r in rows(batch, "people")]  # fmt: skip
    assert got == [
        ("P1", "active", utc(2026, 1, 5), None, utc(2025, 11, 1, 9, 30)),
        ("P2", "active", utc(2020, 1, 1), utc(2025, 12, 31, 23, 59, 59, 999999), None),
        ("P3", "terminated", utc(2020, 1, 1, 7), utc(2025, 11, 30, 17), None),
    ]
    assert [e["identity"] for e in batch.events.to_pylist()] == [
        "P2|2020-01-01T00:00:00Z|hr.hire",
        "P3|2020-01-01T07:00:00Z|hr.hire",
        "P3|2020-01-01T07:00:00Z|hr.terminate",
    ]


def test_hris_history_folder_one_batch_per_snapshot() -> None:
    src = source_config(
        name="hist", kind="hris", path=DATA / "hris" / "history",
        timezone="America/New_York", as_of=AS_OF,
    )  # fmt: skip
    batches = read_source(src)
    assert [b.as_of for b in batches] == [utc(2025, 1, 1, 5), utc(2025, 6, 1, 4), utc(2025, 12, 1)]
    assert [b.pages[0].request for b in batches] == [
        "history/workers-2025-01-01.csv",
        "history/workers-2025-06-01.csv",
        "history/workers.csv",
    ]
    assert [len(rows(b, "people")) for b in batches] == [2, 2, 3]
    titles = [[r["title"] for r in rows(b, "people")] for b in batches]
    assert titles == [
        ["Engineer", "Analyst"],
        ["Staff Engineer", "Analyst"],
        ["Staff Engineer", "Analyst", "Senior Analyst"],
    ]
    for b in batches:
        check_schemas(b)


HR_HEADER = "Employee ID,Work Email,Worker Status,Start Date,Last Day\n"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(
            "E1,a@x,Active,2020-01-01,\n,b@x,Active,2020-01-01,\n",
            "record 2: field 'Employee ID': person_id is missing",
            id="person-id-missing",
        ),
        pytest.param(
            "E1,a@x,Active,2020-13-01,\n",
            "record 1: field 'Start Date': not an ISO 8601 date or date-time: '2020-13-01'",
            id="bad-hire-date",
        ),
        pytest.param(
            "E1,a@x,Terminated,2020-01-01,01/02/2024\n",
            "record 1: field 'Last Day': not an ISO 8601 date or date-time: '01/02/2024'",
            id="bad-termination-date",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01,\nE2,b@x,Retired,2020-01-01,\n",
            "record 2: field 'Worker Status': unknown status 'Retired' "
            "(known: Active, On Leave, Terminated, active, leave, terminated)",
            id="unknown-status",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01,\nE1,a@x,Active,2020-01-01,\n",
            "record 2: field 'Employee ID': duplicate of record 1 (same person_id and hire_date)",
            id="duplicate-record",
        ),
        pytest.param(
            "E1,a@x,Active,2020-01-01\n",
            "record 1: has 4 fields, the header has 5",
            id="ragged-row",
        ),
    ],
)
def test_hris_input_errors(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(HR_HEADER + body, encoding="utf-8")
    columns = {k: v for k, v in HR_COLUMNS.items() if v in HR_HEADER}
    with pytest.raises(InputError) as err:
        read_hris(hr_source(path, columns=columns))
    assert str(err.value) == f"{path}: {problem}"


def test_hris_mapped_column_missing_from_header(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(HR_HEADER, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_hris(hr_source(path))
    assert str(err.value) == (
        f"{path}: field 'Preferred Name': column (mapped to display_name) not in the header"
    )


def test_hris_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "workers.csv"
    path.write_text("person_id\nE1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'salary' is not a person field"):
        read_hris(source_config(name="hr", kind="hris", path=path, columns={"salary": "person_id"}))
    with pytest.raises(ConfigError, match="'gone' is not one of active, leave, terminated"):
        read_hris(source_config(name="hr", kind="hris", path=path, status_values={"Gone": "gone"}))
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        read_hris(source_config(name="hr", kind="hris", path=path, timezone="Mars/Olympus"))

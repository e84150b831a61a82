"""Reading a roster that Canvas exported, and the escaping every export layout shares (no grading).

The layouts themselves are checked against a graded class in ``tests/test_autograder_instructor.py``.
"""

from __future__ import annotations

import csv

import pytest

from autograder.course import UsageError
from autograder.export import csv_safe, read_roster


def write_rows(path, rows, bom=True):
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_a_canvas_gradebook_export_is_read_as_a_roster(tmp_path):
    """Canvas's export: a byte-order mark, an Integration ID column, a Points Possible row, a row
    of Manual Posting markers, read-only total columns; assignment ids from the headers."""
    path = write_rows(tmp_path / "roster.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "Lab 1 (77)",
         "lab2_receptive_fields (78)", "Current Score"],
        ["    Points Possible", "", "", "", "", "", "10.00", "12.00", "(read only)"],
        ["", "", "", "", "", "", "Manual Posting", "", ""],
        ["Doe, Jane", "11", "S11", "jdoe", "", "A", "9", "", "90"],
        ["Roe, Rick", "12", "S12", "rroe", "", "B", "", "", ""],
    ])
    roster = read_roster(path, "SIS Login ID")
    assert [r["SIS Login ID"] for r in roster.students] == ["jdoe", "rroe"]
    assert roster.students[0]["Student"] == "Doe, Jane" and roster.students[1]["Section"] == "B"
    assert roster.assignment_ids == {"Lab 1": "77", "lab2_receptive_fields": "78"}


def test_a_roster_without_the_key_column_is_refused_with_the_columns_it_has(tmp_path):
    path = write_rows(tmp_path / "roster.csv", [["id", "name"], ["jdoe", "Jane"]], bom=False)
    with pytest.raises(UsageError, match="not a Canvas gradebook export.*it has: id, name"):
        read_roster(path, "SIS Login ID")
    with pytest.raises(UsageError, match="cannot read the roster"):
        read_roster(tmp_path / "missing.csv", "SIS Login ID")


def test_csv_cells_a_spreadsheet_would_run_are_quoted():
    for text in ("=1+2", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("evil.example")'):
        assert csv_safe(text) == "'" + text
    assert csv_safe("alice") == "alice" and csv_safe(-1.5) == -1.5 and csv_safe("") == ""

"""CSV for people: text a spreadsheet would run as a formula gets a `'`; numbers, and text that is a number, do not."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from daybreak.core.spreadsheet import escape_cell, escape_formulas, to_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(1)", "'+SUM(1)"),
        ("-1+1", "'-1+1"),
        ('@HYPERLINK("http://evil","x")', '\'@HYPERLINK("http://evil","x")'),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("1e-3", "1e-3"),
        ("Widget", "Widget"),
        ("a=b", "a=b"),
        ("", ""),
        (-4.0, -4.0),
        (None, None),
    ],
)
def test_escape_cell(cell, written):
    assert escape_cell(cell) == written


def test_only_text_cells_and_names_are_escaped_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "id": ["=1+1", "ok", None],
            "label": pd.Categorical(["@x", "y", "@x"]),
            "typed": pd.array(["+A1", "b", pd.NA], dtype="string"),
            "yhat": [-3.5, 0.0, 2.0],
            "count": [-1, 2, 3],
            "=name": [1, 2, 3],
        }
    )

    escaped = escape_formulas(frame)

    assert escaped["id"].tolist() == ["'=1+1", "ok", None]
    assert escaped["label"].tolist() == ["'@x", "y", "'@x"]
    assert escaped["typed"].tolist()[:2] == ["'+A1", "b"]
    assert escaped["yhat"].tolist() == [-3.5, 0.0, 2.0] and escaped["count"].dtype == frame["count"].dtype
    assert list(escaped.columns)[-1] == "'=name"
    assert frame["id"].tolist()[0] == "=1+1", "the caller's frame is left as it was"


def test_to_csv_returns_text_without_index_or_writes_a_file(tmp_path):
    frame = pd.DataFrame({"id": ["-1+1"], "yhat": [-2.0]})

    text = to_csv(frame)
    to_csv(frame, tmp_path / "out.csv")

    assert text == "id,yhat\n'-1+1,-2.0\n"
    assert (tmp_path / "out.csv").read_text() == text
    assert pd.read_csv(io.StringIO(text))["yhat"].tolist() == [-2.0]

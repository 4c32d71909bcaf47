"""`daybreak forecast --input FILE`: any long-format file at any of the four frequencies, and malformed files refused.

Given/when/then through the real command (`jobs.cli.main`), with fast candidates so each case fits in a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.cli import main

FAST = "seasonal_naive,auto_ets"


def _long_file(path, freq: str, lengths: dict[str, int], season: int, start: str = "2024-01-01"):
    rows = []
    for i, (series_id, n) in enumerate(lengths.items()):
        stamps = pd.date_range(start, periods=n, freq=freq)
        t = np.arange(n)
        values = 50 + 10 * i + 8 * np.sin(2 * np.pi * t / season) + (t % 5)
        rows.append(pd.DataFrame({"id": series_id, "timestamp": stamps, "value": values}))
    frame = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=2)  # any row order
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize(
    ("freq", "pandas_freq", "lengths", "season", "start"),
    [
        ("H", "h", {"a": 24 * 7, "b": 24 * 4}, 24, "2024-01-01"),
        ("D", "D", {"a": 120, "b": 45, "c": 9}, 7, "2024-01-01"),
        ("W", "W-MON", {"a": 130, "b": 60}, 52, "2024-01-01"),  # Mondays
        ("M", "MS", {"a": 48, "b": 30}, 12, "2020-01-01"),
    ],
)
def test_every_frequency_and_series_of_different_lengths(
    tmp_path, capsys, freq, pandas_freq, lengths, season, start
):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = _long_file(source, pandas_freq, lengths, season, start)

    code = main(
        [
            "forecast",
            "--input",
            str(source),
            "--output",
            str(target),
            "--freq",
            freq,
            "--horizon",
            "5",
            "--candidates",
            FAST,
        ]
    )

    assert code == 0
    out = pd.read_csv(target, parse_dates=["timestamp"])
    assert list(out.columns) == [
        "id",
        "timestamp",
        "horizon_step",
        "yhat",
        "yhat_lower_80",
        "yhat_upper_80",
        "yhat_lower_95",
        "yhat_upper_95",
        "model",
    ]
    assert out.groupby("id").size().to_dict() == dict.fromkeys(lengths, 5)
    for series_id, group in out.groupby("id"):
        last = pd.Timestamp(frame.loc[frame["id"] == series_id, "timestamp"].max())
        expected = pd.date_range(last, periods=6, freq=pandas_freq)[1:]
        assert group["timestamp"].tolist() == list(expected), series_id
        assert group["horizon_step"].tolist() == [1, 2, 3, 4, 5]
    assert (out["yhat_lower_95"] <= out["yhat"]).all() and (out["yhat"] <= out["yhat_upper_95"]).all()
    assert '"series": ' + str(len(lengths)) in capsys.readouterr().out


def test_parquet_in_and_out(tmp_path):
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    stamps = pd.date_range("2024-01-01", periods=40, freq="D")
    pd.DataFrame(
        {"id": "x", "timestamp": stamps, "value": np.arange(40.0) % 7, "note": "ignored"}
    ).to_parquet(source)

    assert (
        main(
            [
                "forecast",
                "--input",
                str(source),
                "--output",
                str(target),
                "--horizon",
                "3",
                "--candidates",
                FAST,
            ]
        )
        == 0
    )
    assert len(pd.read_parquet(target)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,timestamp\na,2024-01-01\n", "rule missing_column: required columns ['value']"),
        (
            "id,timestamp,value\na,2024-01-01,1\na,2024-01-02,lots\n",
            "line 3: rule value_not_numeric: value 'lots'",
        ),
        (
            "id,timestamp,value\na,2024-01-01,1\nb,2024-01-01,2\na,2024-01-01,3\n",
            "line 4: rule duplicate_timestamp",
        ),
        ("id,timestamp,value\na,yesterday,1\n", "line 2: rule timestamp_unparseable"),
        ("id,timestamp,value\na,2024-01-01 10:30,1\n", "rule timestamp_off_grid"),
        ("id,timestamp,value\n", "rule empty_file"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_row_and_rule(tmp_path, capsys, content, message):
    source = tmp_path / "bad.csv"
    source.write_text(content)

    code = main(
        ["forecast", "--input", str(source), "--output", str(tmp_path / "out.csv"), "--candidates", FAST]
    )

    (refused,) = capsys.readouterr().err.splitlines()
    assert code == 2
    assert str(source) in refused
    assert message in refused
    assert not (tmp_path / "out.csv").exists()


def test_weekly_rows_on_different_weekdays_are_refused(tmp_path, capsys):
    source = tmp_path / "weeks.csv"
    source.write_text("id,timestamp,value\na,2024-01-01,1\na,2024-01-08,2\na,2024-01-16,3\n")

    assert main(["forecast", "--input", str(source), "--output", str(tmp_path / "o.csv"), "--freq", "W"]) == 2
    assert "line 4: rule timestamp_off_grid: 2024-01-16 is not a Monday" in capsys.readouterr().err


def test_forecast_needs_a_date_or_a_file():
    with pytest.raises(SystemExit, match="--date"):
        main(["forecast"])

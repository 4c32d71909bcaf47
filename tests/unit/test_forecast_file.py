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
        "fallback_reason",
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


def _refused(capsys, *argv: str) -> str:
    """Run the command, which must refuse; returns the one line it printed (stderr)."""
    assert main(["forecast", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


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
        ("id,timestamp,value\n", "rule empty_file: no data rows"),
        ("", "rule empty_file: the file is empty (no header, no rows)"),
        ("\n\n", "rule empty_file: the file is empty (no header, no rows)"),
    ],
    ids=["no_value", "not_numeric", "duplicate", "bad_time", "off_grid", "header_only", "0_bytes", "blank"],
)
def test_a_malformed_file_is_refused_naming_file_row_and_rule(tmp_path, capsys, content, message):
    source = tmp_path / "bad.csv"
    source.write_text(content)

    line = _refused(
        capsys, "--input", str(source), "--output", str(tmp_path / "out.csv"), "--candidates", FAST
    )

    assert line == f"daybreak forecast: {source}: " + line.split(f"{source}: ", 1)[1]
    assert message in line
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_parquet_file_is_an_empty_file(tmp_path, capsys):
    source = tmp_path / "empty.parquet"
    pd.DataFrame({"id": [], "timestamp": [], "value": []}).to_parquet(source)

    line = _refused(capsys, "--input", str(source), "--output", str(tmp_path / "out.csv"))

    assert line == f"daybreak forecast: {source}: rule empty_file: no data rows"


def test_a_horizon_above_the_maximum_is_refused_before_reading(tmp_path, capsys):
    line = _refused(
        capsys, "--input", str(tmp_path / "never_read.csv"), "--output", str(tmp_path / "o.csv"),
        "--horizon", "100000",
    )  # fmt: skip

    assert line == "daybreak forecast: --horizon 100000: must be between 1 and 10000 periods"


@pytest.mark.parametrize("horizon", ["0", "-3"])
def test_a_horizon_below_one_is_refused(tmp_path, capsys, horizon):
    line = _refused(capsys, "--input", "x.csv", "--output", "o.csv", "--horizon", horizon)

    assert line == f"daybreak forecast: --horizon {horizon}: must be between 1 and 10000 periods"


def test_a_horizon_whose_dates_leave_pandas_range_is_refused(tmp_path, capsys):
    source = tmp_path / "months.csv"
    _long_file(source, "MS", {"a": 24, "late": 30}, 12, "2020-01-01")  # late's last month: 2022-06-01

    line = _refused(
        capsys,
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o.csv"),
        "--freq",
        "M",
        "--horizon",
        "5000",
    )

    assert line == (
        "daybreak forecast: --horizon 5000: series 'late' would be forecast past 2262-04-11, the last date "
        "pandas can hold; at most 2878 periods from its last timestamp 2022-06-01 00:00:00"
    )
    assert not (tmp_path / "o.csv").exists()


def test_output_csv_escapes_spreadsheet_formulas_but_keeps_numbers(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    hostile = ["=cmd|' /C calc'!A0", "+SUM(1)", "-1+1", '@HYPERLINK("http://x")', "-7", "plain"]
    stamps = pd.date_range("2024-01-01", periods=21, freq="D")
    pd.DataFrame(
        [(i, s, v) for i in hostile for s, v in zip(stamps, np.arange(21) % 7 - 10.0, strict=True)],
        columns=["id", "timestamp", "value"],
    ).to_csv(source, index=False)

    assert main(["forecast", "--input", str(source), "--output", str(target), "--horizon", "2",
                 "--candidates", "seasonal_naive"]) == 0  # fmt: skip

    out = pd.read_csv(target, dtype={"id": str}, keep_default_na=False)
    assert sorted(set(out["id"])) == sorted(
        ["'=cmd|' /C calc'!A0", "'+SUM(1)", "'-1+1", '\'@HYPERLINK("http://x")', "-7", "plain"]
    )
    assert (out["yhat"] < 0).all(), "negative forecasts stay numbers"
    assert pd.api.types.is_float_dtype(out["yhat_lower_95"])


def test_parquet_output_keeps_ids_as_they_are(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.parquet"
    _long_file(source, "D", {"=1+1": 21}, 7)

    assert main(["forecast", "--input", str(source), "--output", str(target), "--horizon", "2",
                 "--candidates", "seasonal_naive"]) == 0  # fmt: skip

    assert set(pd.read_parquet(target)["id"]) == {"=1+1"}


def test_output_says_which_series_fell_back_and_why(tmp_path, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("id,timestamp,value\nshort,2024-01-01,5\n" + "".join(
        f"long,2024-01-{day:02d},{day % 7}\n" for day in range(1, 29)
    ))  # fmt: skip

    assert main(["forecast", "--input", str(source), "--output", str(target), "--horizon", "2",
                 "--candidates", FAST]) == 0  # fmt: skip

    out = pd.read_csv(target, keep_default_na=False)
    reasons = out.groupby("id")["fallback_reason"].unique().to_dict()
    assert list(reasons["long"]) == [""]
    assert len(reasons["short"]) == 1 and reasons["short"][0] != ""
    assert '"short": ' in capsys.readouterr().out


def test_weekly_rows_on_different_weekdays_are_refused(tmp_path, capsys):
    source = tmp_path / "weeks.csv"
    source.write_text("id,timestamp,value\na,2024-01-01,1\na,2024-01-08,2\na,2024-01-16,3\n")

    line = _refused(capsys, "--input", str(source), "--output", str(tmp_path / "o.csv"), "--freq", "W")

    assert "line 4: rule timestamp_off_grid: 2024-01-16 is not a Monday" in line


def test_forecast_needs_a_date_or_a_file():
    with pytest.raises(SystemExit, match="--date"):
        main(["forecast"])


def test_an_hourly_series_gets_mstl_with_a_daily_and_a_weekly_period(tmp_path, capsys):
    from jobs.forecast_file import ADHOC_CANDIDATES

    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    stamps = pd.date_range("2024-03-04", periods=24 * 21, freq="h")
    t = np.arange(len(stamps))
    values = 100 + 20 * np.sin(2 * np.pi * t / 24) + 30 * (stamps.dayofweek >= 5) + (t % 3)
    pd.DataFrame({"id": "a", "timestamp": stamps, "value": values}).to_csv(source, index=False)

    code = main(
        ["forecast", "--input", str(source), "--output", str(target), "--freq", "H", "--horizon", "24"]
        + ["--candidates", "seasonal_naive,mstl"]
    )

    assert "mstl" in ADHOC_CANDIDATES  # the default candidates have it
    assert code == 0
    assert '"mstl(season_lengths=[24,168])": 1' in capsys.readouterr().out


def _revenue_file(path, id_name="store", ds_name="date", value_name="revenue"):
    """A noisy daily revenue near zero, its own column names: a wide interval would reach below zero."""
    stamps = pd.date_range("2024-01-01", periods=70, freq="D")
    values = np.random.default_rng(3).gamma(0.6, 20.0, len(stamps))
    pd.DataFrame({id_name: "shop", ds_name: stamps, value_name: values, "value": -1}).to_csv(
        path, index=False
    )


def test_a_file_of_revenue_with_its_own_column_names_gets_no_bound_below_zero(tmp_path, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    _revenue_file(source)
    code = main(
        ["forecast", "--input", str(source), "--output", str(target), "--horizon", "14", "--candidates", FAST]
        + ["--id-column", "store", "--timestamp-column", "date", "--value-column", "revenue"]
    )
    assert code == 0, capsys.readouterr().err
    out = pd.read_csv(target)
    assert set(out["id"]) == {"shop"}, "the mapped id column, not a column that happens to be called value"
    assert out["yhat_lower_95"].min() == 0.0, "clipped at zero like the nightly forecasts, not negative"
    assert (out[["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_upper_95"]] >= 0).all().all()


def test_a_file_with_negative_values_is_not_clipped(tmp_path, capsys):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    stamps = pd.date_range("2024-01-01", periods=70, freq="D")
    values = np.random.default_rng(3).normal(0.0, 10.0, len(stamps))
    pd.DataFrame({"id": "margin", "timestamp": stamps, "value": values}).to_csv(source, index=False)
    assert main(["forecast", "--input", str(source), "--output", str(target), "--candidates", FAST]) == 0
    assert pd.read_csv(target)["yhat_lower_95"].min() < 0


def test_a_column_named_otherwise_is_refused_naming_the_options(tmp_path, capsys):
    source = tmp_path / "in.csv"
    _revenue_file(source)
    code = main(
        ["forecast", "--input", str(source), "--output", str(tmp_path / "o.csv"), "--id-column", "shop"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "required columns ['shop', 'timestamp'] not found" in err
    assert err.endswith("name the file's own with --id-column, --timestamp-column and --value-column")


def test_the_help_names_the_default_candidates_as_the_registry_does():
    from daybreak.models.forecasting.registry import FAMILIES
    from jobs.cli_parser import ADHOC_DEFAULTS
    from jobs.forecast_file import ADHOC_CANDIDATES

    names = [c if isinstance(c, str) else c["model"] for c in ADHOC_CANDIDATES]
    assert ADHOC_DEFAULTS.split(", ") == names
    assert all(name in FAMILIES for name in names), "each default is a name --candidates accepts"

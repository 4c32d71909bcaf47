"""The rules of an ad-hoc series file and of its horizon, called directly (the command's outcome is tested in
test_forecast_file.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from daybreak.ingest.series_file import (
    MAX_HORIZON,
    InputFileError,
    check_horizon,
    check_horizon_dates,
    read_series_file,
)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "rule empty_file: the file is empty (no header, no rows)"),
        (b"\n  \n", "rule empty_file: the file is empty (no header, no rows)"),
        (b"id,timestamp,value\n", "rule empty_file: no data rows"),
    ],
    ids=["0_bytes", "blank_lines", "header_only"],
)
def test_an_empty_file_breaks_the_empty_file_rule(tmp_path, content, rule):
    source = tmp_path / "in.csv"
    source.write_bytes(content)

    with pytest.raises(InputFileError) as refused:
        read_series_file(source, "D")

    assert str(refused.value) == f"{source}: {rule}"


@pytest.mark.parametrize("horizon", [1, 28, MAX_HORIZON])
def test_a_horizon_within_bounds_passes(horizon):
    check_horizon(horizon)


@pytest.mark.parametrize("horizon", [0, -1, MAX_HORIZON + 1, 100_000])
def test_a_horizon_out_of_bounds_is_refused_naming_option_and_limits(horizon):
    with pytest.raises(InputFileError, match=rf"^--horizon {horizon}: must be between 1 and 10000 periods$"):
        check_horizon(horizon)


def test_the_largest_horizon_pandas_can_hold_is_exact():
    # hourly series ending 2261-12-31 23:00: 2262-04-11 23:00 is the last whole hour pandas holds
    frame = pd.DataFrame({"series_id": ["a"], "ds": [pd.Timestamp("2261-12-31 23:00")], "y": [1.0]})
    fits = (pd.Timestamp("2262-04-11 23:00") - pd.Timestamp("2261-12-31 23:00")) // pd.Timedelta(hours=1)

    check_horizon_dates(frame, "h", fits)
    with pytest.raises(
        InputFileError, match=rf"at most {fits} periods from its last timestamp 2261-12-31 23:00"
    ):
        check_horizon_dates(frame, "h", fits + 1)

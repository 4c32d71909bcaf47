"""bench.forecast_scale simulates the same series for the same seed, and measures both nights end to end."""

from __future__ import annotations

import numpy as np

from bench.forecast_scale import main, simulate


def test_simulated_series_are_a_pure_function_of_the_seed_and_their_number():
    ds, made = simulate(3, 60, seed=7)
    _, again = simulate(5, 60, seed=7)
    assert len(ds) == 60 and [sid for sid, _ in made] == ["series=000000", "series=000001", "series=000002"]
    for (sid, y), (sid_again, y_again) in zip(made, again[:3], strict=True):
        assert sid == sid_again and np.array_equal(y, y_again)
    assert all((y >= 0).all() and np.array_equal(y, np.round(y)) for _, y in made)
    assert not np.array_equal(made[0][1], simulate(1, 60, seed=8)[1][0][1])


def test_both_nights_run_and_the_executors_for_50000_series_are_derived(capsys):
    assert main(["--series", "2", "--days", "400", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "retrain" in printed and "normal (score)" in printed
    assert "fallbacks flagged: 0" in printed
    assert "a 50000-series retrain in one hour" in printed


def test_candidates_replace_the_configs_list(capsys):
    assert main(["--series", "2", "--days", "100", "--workers", "1", "--candidates", "seasonal_naive"]) == 0
    printed = capsys.readouterr().out
    assert "candidates ['seasonal_naive']" in printed
    assert "     2  seasonal_naive" in printed


def test_a_normal_night_can_score_more_series_than_were_retrained(capsys):
    assert main(["--series", "3", "--days", "400", "--workers", "1", "--champions-from", "1"]) == 0
    printed = capsys.readouterr().out
    assert "the retrain on the first 1" in printed
    rows = {
        line.split()[0]: line.split()
        for line in printed.splitlines()
        if line.startswith(("retrain", "normal"))
    }
    assert rows["retrain"][1] == "1" and rows["normal"][2] == "3"  # "normal (score)" is two words
    assert "fallbacks flagged: 0" in printed

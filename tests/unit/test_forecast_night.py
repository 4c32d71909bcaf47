"""The forecast night's reading of the registry's artifacts: which stored fit a champion scores from."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from daybreak.models.forecasting.registry import BASELINE
from daybreak.models.forecasting.tasks import Champion
from daybreak.nights import forecast as forecast_night


def _artifact(tmp_path, version: str, **content) -> str:
    path = tmp_path / f"{version}.json"
    path.write_text(json.dumps({"version": version, **content}))
    return str(path)


def test_a_champion_scores_from_its_latest_refit_before_the_night(tmp_path):
    versions = pd.DataFrame(
        {
            "model_id": ["a", "a", "a", "b", "b"],
            "version": ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-07", "2024-01-14"],
            "trained_for_date": pd.to_datetime(
                ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-07", "2024-01-14"]
            ).date,
            "artifact_path": [
                _artifact(tmp_path, "a7", fit={"night": 7}),
                _artifact(tmp_path, "a14", champion_fit={"version": "2024-01-07", "fit": {"night": 14}}),
                _artifact(tmp_path, "a21", champion_fit={"version": "2024-01-07", "fit": {"night": 21}}),
                _artifact(tmp_path, "b7", fit={"night": 7}),
                _artifact(tmp_path, "b14", champion_fit={"version": "2023-12-31", "fit": {"night": 14}}),
            ],
        }
    )
    champions = {
        "a": Champion("2024-01-07", BASELINE, fit={"night": 7}),
        "b": Champion("2024-01-07", BASELINE, fit={"night": 7}),  # b's last refit was of another champion
    }

    forecast_night._refresh_fits(champions, versions, dt.date(2024, 1, 17))

    assert champions["a"].fit == {"night": 14}  # the night-21 refit is after the night: not seen
    assert champions["b"].fit == {"night": 7}

"""The Review page's query: which published nights applied each planner's override (the log itself is outside the
warehouse: `planner_overrides`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import serving

if TYPE_CHECKING:
    import pandas as pd


def override_applications() -> pd.DataFrame:
    """Per override, the published nights that applied it: `override_id, nights, last_applied, rows`."""
    frame = serving.read(
        """
        select override_id, count(distinct as_of_date) as nights, max(as_of_date) as last_applied,
            count(*) as rows
        from {FORECASTS}
        where override_id is not null
        group by override_id
        """
    )
    return serving.as_dates(frame, "last_applied")

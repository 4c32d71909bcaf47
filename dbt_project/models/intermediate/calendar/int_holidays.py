"""Public holidays of the dataset's country (var holidays_country), one row per date, from the `holidays` package.

A Python model because the holiday rules (Easter, substitute days, lunar calendars) live in that package, not in
SQL. It covers every year from the first business day in the lake to the year after the run date, which holds
the whole range of dim_calendar (up to 90 days past the run date). With holidays_country null it is empty.
"""

import datetime as dt

import pandas as pd
import pyarrow as pa


def holiday_rows(country: str | None, first_year: int, last_year: int) -> pd.DataFrame:
    """The holidays of `country` in the years `first_year..last_year`, by date.

    Args:
        country: ISO 3166 code the `holidays` package knows (GB, DE, US, ...), or None for no holidays.
        first_year: first calendar year to cover.
        last_year: last calendar year to cover (included).

    Returns:
        Columns holiday_date (a date) and holiday_name (names of one date's holidays joined by "; "), sorted by
        date; typed even when empty, so the table's columns are DATE and VARCHAR either way.
    """
    dates, names = [], []
    if country:
        import holidays

        try:
            calendar = holidays.country_holidays(country, years=range(first_year, last_year + 1))
        except NotImplementedError as error:
            raise ValueError(
                f"var holidays_country: {country!r} is not a country the holidays package knows"
            ) from error
        for day, name in sorted(calendar.items()):
            dates.append(day)
            names.append(name)
    return pd.DataFrame(
        {
            "holiday_date": pd.Series(dates, dtype=pd.ArrowDtype(pa.date32())),
            "holiday_name": pd.Series(names, dtype="string"),
        }
    )


def model(dbt, session):
    # Python models cannot be ephemeral like the rest of intermediate/; the config lives in the YAML beside it
    country = dbt.config.get("holidays_country") or None
    run_date = dt.date.fromisoformat(str(dbt.config.get("run_date")))
    first_day = dbt.ref("fct_sales_lines").aggregate("min(business_date)").fetchall()[0][0]
    first_year = first_day.year if first_day is not None else run_date.year
    return holiday_rows(country, first_year, run_date.year + 1)

"""Data quality of night D's sales lines: missing values, values out of the days before's range, new categories.

Both windows are sampled to QUALITY_SAMPLE lines, the first by the md5 of their line id, so a rerun checks the
same lines.
"""

from __future__ import annotations

import datetime as dt

from daybreak.models.drift import data_quality, data_summary_report
from daybreak.nights.monitoring import findings

RANGE_COLUMNS = ("quantity", "unit_price", "revenue")
CATEGORY_COLUMNS = ("location", "product_id")
QUALITY_SAMPLE = 20_000
QUALITY_SQL = """
select quantity, unit_price, revenue, location, product_id, customer_id
from marts.fct_sales_lines
where business_date between ? and ?
order by md5(concat('daybreak-dq', line_id)), line_id
limit ?
"""


def day_quality(connection, config, business_date, timestamp, night: findings.Night) -> None:
    """D's sales lines: missing values, ranges and new categories against the days before."""
    start = business_date - dt.timedelta(days=config.drift.reference_days)
    end = business_date - dt.timedelta(days=1)
    day = connection.execute(QUALITY_SQL, [business_date, business_date, QUALITY_SAMPLE]).df()
    reference = connection.execute(QUALITY_SQL, [start, end, QUALITY_SAMPLE]).df()
    # a column neither the day nor the days before have is not one of this dataset's (an aggregated export's unit
    # price, its units when it has none, the customer of a shop without customers): nothing is missing from it
    if len(day):
        carried = [c for c in day.columns if day[c].notna().any() or reference[c].notna().any()]
        day, reference = day[carried], reference[carried]
    known = {
        column: {
            row[0]
            for row in connection.execute(
                f"select distinct {column} from marts.fct_sales_lines where business_date < ?",  # noqa: S608
                [business_date],
            ).fetchall()
        }
        for column in CATEGORY_COLUMNS
    }
    found = data_quality(
        day,
        reference,
        known,
        range_columns=tuple(c for c in RANGE_COLUMNS if c in day.columns),
        max_missing_share=config.monitoring.max_missing_share,
        max_out_of_range_share=config.monitoring.max_out_of_range_share,
    )
    night.quality = found.assign(reference_start=start, reference_end=end)
    meta = {"model_version": "none (the day's data)", "reference_window": f"{start}..{end}"}
    texts = {"customer_id": "object"} if "customer_id" in day.columns else {}
    report = data_summary_report(
        day.astype(texts),
        reference.astype(texts),
        timestamp=timestamp,
        metadata=meta,
    )
    if report is not None:
        night.reports["data_quality"] = (report, meta)

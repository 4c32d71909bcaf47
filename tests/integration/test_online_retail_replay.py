"""The whole UCI Online Retail file, replayed day by day through the ingest job and built by real dbt.

541,909 real, dirty lines from 2010-12-01 to 2011-12-09. Given every day's export landed and ingested one night at a
time, and the marts built with every dbt test (the revenue reconciliation included), then every row is accounted
for, revenue in the marts equals the file's revenue minus the quarantined revenue to the cent, and each dirty case
of the file is either quarantined under a named rule or classified in fct_sales_lines.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from daybreak.core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.long(minutes=2)]

FIRST_DAY, LAST_DAY = dt.date(2010, 12, 1), dt.date(2011, 12, 9)


@pytest.fixture(scope="module")
def source(shared_data) -> pd.DataFrame:
    return pd.read_parquet(shared_data / "online_retail" / "online_retail.parquet")


@pytest.fixture(scope="module")
def replayed(shared_data, tmp_path_factory, airflow_db) -> Settings:
    from daybreak.datasets import load_dataset_config
    from daybreak.ingest.simulation.replay import replay_dataset
    from jobs import ingest, transform

    settings = Settings(home=tmp_path_factory.mktemp("online_retail"), dataset="online_retail")
    config = load_dataset_config("online_retail")
    replay_dataset(
        config,
        settings.landing_dir,
        source=str(shared_data / "online_retail" / "online_retail.parquet"),
    )
    day = FIRST_DAY
    while day <= LAST_DAY:
        summary = ingest.run(day, "replay", settings)
        assert summary["rows_in"] == summary["rows_loaded"] + summary["rows_quarantined"], summary
        day += dt.timedelta(days=1)
    transform.run(LAST_DAY, "replay", settings, full_refresh=True)
    return settings


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_every_row_of_the_file_is_accounted_for(replayed, source):
    (files, rows_in, loaded, quarantined, unbalanced) = query(
        replayed,
        """
        select count(*), sum(rows_in), sum(rows_loaded), sum(rows_quarantined),
            count(*) filter (where rows_in <> rows_loaded + rows_quarantined + rows_replaced)
        from monitoring.ingest_runs
        """,
    )[0]
    assert files == (LAST_DAY - FIRST_DAY).days + 1, "one file per day, closed days included"
    assert unbalanced == 0
    assert rows_in == len(source) == 541_909
    assert loaded + quarantined == rows_in
    assert query(replayed, "select count(*) from monitoring.quarantine") == [(quarantined,)]
    assert query(replayed, "select count(*) from marts.fct_sales_lines") == [(loaded,)]


def test_marts_revenue_is_the_file_minus_quarantine_to_the_cent(replayed, source):
    file_revenue = float((source["Quantity"] * source["UnitPrice"]).sum())
    ((quarantined_revenue,),) = query(replayed, "select sum(revenue) from monitoring.quarantine")
    ((marts_revenue,),) = query(replayed, "select sum(revenue) from marts.fct_sales_lines")
    assert abs(marts_revenue - (file_revenue - quarantined_revenue)) < 0.005
    # and per day, by the dbt test that ran in the build (a failing test fails transform.run)
    results = (replayed.dbt_target_dir / "run_results.json").read_text()
    assert '"test.daybreak.assert_sales_lines_revenue_reconciles_with_ingest"' in results


def test_dirty_lines_are_quarantined_under_their_rule(replayed, source):
    rules = dict(query(replayed, "select rule, count(*) from monitoring.quarantine group by 1"))
    duplicated = source.duplicated(keep="first").sum()
    assert rules == {
        # the two "Adjust bad debt" entries at -11,062.06
        "unit_price_below_min": 2,
        # the third bad-debt entry, invoice A563185, at +11,062.06
        "order_id_pattern_mismatch": 1,
        "duplicate_line": duplicated,
    }
    assert duplicated == 5_268
    assert query(
        replayed,
        "select count(*) from monitoring.quarantine where rule = 'unit_price_below_min' "
        "and json_extract_string(raw_values, '$.StockCode') = 'B' and revenue = -11062.06",
    ) == [(2,)]
    (detail,) = query(
        replayed,
        "select detail from monitoring.quarantine where rule = 'duplicate_line' order by all limit 1",
    )[0]
    assert detail.startswith("repeats row ")


def test_cancellations_are_returns_linked_to_their_sale(replayed, source):
    cancellations = source["InvoiceNo"].str.startswith("C")
    kinds = dict(
        query(
            replayed,
            "select line_kind, count(*) from marts.fct_sales_lines where order_id like 'C%' group by 1",
        )
    )
    # every loaded cancellation line is a return or a non-product line (a cancelled postage or fee)
    assert set(kinds) == {"return", "non_product"}
    ((quarantined_cancellations,),) = query(
        replayed,
        "select count(*) from monitoring.quarantine where json_extract_string(raw_values, '$.InvoiceNo') like 'C%'",
    )
    assert sum(kinds.values()) + quarantined_cancellations == cancellations.sum()
    linked, returns = query(
        replayed,
        "select count(returned_line_id), count(*) from marts.fct_sales_lines where line_kind = 'return'",
    )[0]
    assert linked / returns > 0.6, "most returns cancel a sale made in the file's year"
    # a link always points back in time, to a sale of the same product and customer
    assert query(
        replayed,
        """
        select count(*)
        from marts.fct_sales_lines as r
        join marts.fct_sales_lines as s on r.returned_line_id = s.line_id
        where s.ordered_at > r.ordered_at or s.product_id <> r.product_id or s.customer_id <> r.customer_id
            or s.line_kind <> 'sale'
        """,
    ) == [(0,)]


def test_the_extreme_orders_load_and_are_cancelled_the_same_day(replayed):
    pairs = query(
        replayed,
        """
        select order_id, quantity, line_kind, returned_order_id, business_date
        from marts.fct_sales_lines where abs(quantity) >= 74215 order by business_date, order_id
        """,
    )
    assert pairs == [
        ("541431", 74215.0, "sale", None, dt.date(2011, 1, 18)),
        ("C541433", -74215.0, "return", "541431", dt.date(2011, 1, 18)),
        ("581483", 80995.0, "sale", None, dt.date(2011, 12, 9)),
        ("C581484", -80995.0, "return", "581483", dt.date(2011, 12, 9)),
    ]
    # so the day's product revenue in the United Kingdom series is not inflated by 168,469.60
    ((uk_revenue,),) = query(
        replayed,
        "select revenue from marts.fct_daily_sales "
        "where series_id = 'location=United Kingdom' and sales_date = '2011-12-09'",
    )
    ((without_pair,),) = query(
        replayed,
        "select sum(revenue) from marts.fct_sales_lines where business_date = '2011-12-09' "
        "and location = 'United Kingdom' and is_product_sale and order_id not in ('581483', 'C581484')",
    )
    assert uk_revenue == pytest.approx(without_pair, abs=0.005)


def test_non_product_codes_zero_prices_and_missing_customers_are_classified(replayed, source):
    categories = dict(
        query(
            replayed,
            "select non_product_category, count(*) from marts.fct_sales_lines "
            "where line_kind = 'non_product' group by 1",
        )
    )
    assert set(categories) == {
        "postage",
        "carriage",
        "manual_adjustment",
        "discount",
        "samples",
        "bank_charges",
        "fees",
        "gift_voucher",
    }  # fmt: skip (bad_debt_adjustment too in the config, but all three "B" lines are quarantined above)
    assert query(
        replayed,
        "select count(*) from marts.fct_sales_lines where product_id in ('POST', 'DOT') "
        "and line_kind <> 'non_product'",
    ) == [(0,)]
    assert query(
        replayed,
        "select count(*) from marts.dim_products where product_id in ('POST', 'DOT', 'M', 'AMAZONFEE')",
    ) == [(0,)], "non-product codes are not products"
    kinds = dict(query(replayed, "select line_kind, count(*) from marts.fct_sales_lines group by 1"))
    # zero prices: free items (positive quantity) and stock adjustments (damaged, lost, found: no customer)
    assert kinds["free_item"] > 0 and kinds["stock_adjustment"] > 0
    assert query(
        replayed,
        "select count(*) from marts.fct_sales_lines where line_kind in ('free_item', 'stock_adjustment') "
        "and revenue <> 0",
    ) == [(0,)]
    # lines without a customer stay in the sales facts and out of the customer features
    ((anonymous,),) = query(replayed, "select count(*) from marts.fct_sales_lines where customer_id is null")
    assert anonymous > 100_000
    customers = query(
        replayed,
        """
        select count(*), count(*) filter (where customer_id is null)
        from marts.features_customer_asof where as_of_date = '2011-12-09'
        """,
    )[0]
    assert customers[0] > 4000 and customers[1] == 0


def test_source_freshness_passes_right_after_ingest(replayed):
    from jobs.transform import check_freshness

    output = check_freshness(replayed)
    assert "PASS freshness of monitoring.ingest_runs" in output

{#- A series has units on every day or on none: none when its data has none (an aggregated export of revenue
    only), and then its zero-filled days have none either, so a chart of units never mixes real zeros with
    missing values. -#}
select
    series_id,
    count(*) as days,
    count(units) as days_with_units
from {{ ref('fct_daily_sales') }}
where sales_date <= {{ run_date() }}
group by series_id
having count(units) not in (0, count(*))

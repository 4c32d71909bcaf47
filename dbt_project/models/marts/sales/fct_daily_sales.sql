{{ config(**incremental_by_date('sales_date')) }}

with lines_in_series as (

    select * from {{ ref('int_sales_lines_assigned_to_series') }}
    where business_date <= {{ run_date() }}
    {%- if is_incremental() %}
        and business_date >= {{ rebuild_from() }}
    {%- endif %}

),

series_daily_totals as (

    select
        series_id,
        location,
        product_id,
        business_date as sales_date,
        {{ exact_sum('quantity') }} as units,
        {{ exact_sum('revenue') }} as revenue,
        count(*) as lines,
        count(distinct order_id) as orders
    from lines_in_series
    group by series_id, location, product_id, business_date

),

series_sale_days as (

    select series_id, location, product_id, sales_date, units from series_daily_totals
    {% if is_incremental() -%}
    union all
    -- earlier nights filled every series from its first sale on, so the table itself knows which series exist
    -- and since when, without reading the whole lake again
    select series_id, location, product_id, sales_date, units from {{ this }}
    where sales_date < {{ rebuild_from() }}
    {%- endif %}

),

series_first_sales as (

    select
        series_id,
        location,
        product_id,
        min(sales_date) as first_sale_date,
        -- a series whose lines carry no units (an aggregated export of revenue only) has none on any day
        count(units) > 0 as has_units
    from series_sale_days
    group by series_id, location, product_id

),

sales_period as (

    {% if is_incremental() -%}
    select {{ rebuild_from() }} as first_day
    {%- else -%}
    select min(first_sale_date) as first_day
    from series_first_sales
    {%- endif %}

),

-- a full refresh fills every day since the first sale, an incremental run the days it rebuilds (usually only
-- the run date)
calendar as (

    {{ days_between('sales_period', 'first_day', run_date(), 'sales_date') }}

),

series_days as (

    select
        series_first_sales.series_id,
        series_first_sales.location,
        series_first_sales.product_id,
        series_first_sales.has_units,
        calendar.sales_date
    from series_first_sales
    inner join calendar
        on calendar.sales_date >= series_first_sales.first_sale_date

),

zero_filled as (

    select
        series_days.series_id,
        series_days.location,
        series_days.product_id,
        series_days.sales_date,
        case when series_days.has_units then coalesce(series_daily_totals.units, 0) end as units,
        coalesce(series_daily_totals.revenue, 0) as revenue,
        coalesce(series_daily_totals.lines, 0) as lines,
        coalesce(series_daily_totals.orders, 0) as orders
    from series_days
    left join series_daily_totals
        on series_days.series_id = series_daily_totals.series_id
        and series_days.sales_date = series_daily_totals.sales_date

)

select * from zero_filled

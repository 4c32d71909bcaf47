{#- Forecasting features per series and hour, for a dataset forecast hourly (var series_frequency: hourly; the
    model is disabled for the other grains, so a daily dataset never builds it). Every hour of every day from the
    series' first sale on (zero-filled), the hour's units and revenue, their values 24 and 168 hours earlier (from
    earlier hours only, so a row is what was knowable the night of its day), and the day's calendar flags.
    A night's run computes the dates it rebuilds (its run date, or from rebuild_from() on after a late file) from
    the lines of the 7 days before them. -#}
{{ config(enabled=var('series_frequency') == 'hourly', **incremental_by_date('sales_date')) }}

{%- set measures = ['units', 'revenue'] -%}
{%- set lags = [24, 168] -%}
{%- set days_back = 7 -%}

with lines_in_series as (

    select * from {{ ref('int_sales_lines_assigned_to_series') }}
    where business_date <= {{ run_date() }}
    {%- if is_incremental() %}
        and business_date >= {{ dbt.dateadd('day', -days_back, rebuild_from()) }}
    {%- endif %}

),

-- a line's ordered_at falls on its business date (ingest quarantines the others), so its hour is in its day
hourly_totals as (

    select
        series_id,
        business_date as sales_date,
        {{ dbt.date_trunc('hour', 'ordered_at') }} as sales_hour,
        {{ exact_sum('quantity') }} as units,
        {{ exact_sum('revenue') }} as revenue
    from lines_in_series
    group by series_id, business_date, {{ dbt.date_trunc('hour', 'ordered_at') }}

),

series_sale_days as (

    select series_id, sales_date from hourly_totals
    {% if is_incremental() -%}
    union all
    -- earlier nights filled every series from its first sale on, so the table itself knows which series exist
    -- and since when
    select series_id, sales_date from {{ this }}
    where sales_date < {{ rebuild_from() }}
    {%- endif %}

),

series_first_sales as (

    select
        series_id,
        min(sales_date) as first_sale_date
    from series_sale_days
    group by series_id

),

sales_period as (

    {% if is_incremental() -%}
    select cast({{ dbt.dateadd('day', -days_back, rebuild_from()) }} as date) as first_day
    {%- else -%}
    select min(first_sale_date) as first_day
    from series_first_sales
    {%- endif %}

),

days as (

    {{ days_between('sales_period', 'first_day', run_date(), 'sales_date') }}

),

hours as (

    {%- for hour in range(24) %}
    select {{ hour }} as hour_of_day{{ ' union all' if not loop.last }}
    {%- endfor %}

),

series_hours as (

    select
        series_first_sales.series_id,
        days.sales_date,
        hours.hour_of_day,
        {{ dbt.dateadd('hour', 'hours.hour_of_day', 'cast(days.sales_date as timestamp)') }} as sales_hour
    from series_first_sales
    inner join days
        on days.sales_date >= series_first_sales.first_sale_date
    cross join hours

),

-- every hour of a series from its first sale on has a row, so the k-th row before an hour is k hours earlier
previous_hours as (

    select
        series_hours.series_id,
        series_hours.sales_date,
        cast(series_hours.sales_hour as timestamp) as sales_hour,
        coalesce(hourly_totals.units, 0) as units,
        coalesce(hourly_totals.revenue, 0) as revenue,
        {%- for measure in measures %}
        {%- for k in lags %}
        lag(coalesce(hourly_totals.{{ measure }}, 0), {{ k }}) over (
            partition by series_hours.series_id order by series_hours.sales_hour
        ) as {{ measure }}_lag_{{ k }},
        {%- endfor %}
        {%- endfor %}
        series_hours.hour_of_day
    from series_hours
    left join hourly_totals
        on series_hours.series_id = hourly_totals.series_id
        and series_hours.sales_hour = hourly_totals.sales_hour

),

calendar as (

    select
        date_day,
        day_of_week,
        is_weekend,
        is_holiday,
        is_closed
    from {{ ref('dim_calendar') }}

),

features as (

    select
        previous_hours.*,
        calendar.day_of_week,
        calendar.is_weekend,
        calendar.is_holiday,
        calendar.is_closed
    from previous_hours
    left join calendar
        on previous_hours.sales_date = calendar.date_day
    {%- if is_incremental() %}
    where previous_hours.sales_date >= {{ rebuild_from() }}
    {%- endif %}

)

select * from features

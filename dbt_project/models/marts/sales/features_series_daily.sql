{#- Forecasting features per series and day. Every feature of day D comes from days before D only (lags and
    rolling means over the previous days), so a row is what was knowable the night of D.
    A night's run computes the dates it rebuilds (its run date, or from rebuild_from() on after a late file),
    from the 28 days before them. -#}
{{ config(**incremental_by_date('sales_date')) }}

{%- set measures = ['units', 'revenue'] -%}
{%- set lags = [1, 7, 14, 28] -%}
{%- set windows = [7, 28] -%}
{%- set days_back = 28 -%}

with daily_sales as (

    select
        series_id,
        sales_date,
        units,
        revenue
    from {{ ref('fct_daily_sales') }}
    where sales_date <= {{ run_date() }}
    {%- if is_incremental() %}
        and sales_date >= {{ dbt.dateadd('day', -days_back, rebuild_from()) }}
    {%- endif %}

),

-- fct_daily_sales has a row for every day of a series from its first sale on, so the k-th row before a day is
-- the day k days earlier; null before the series' first sale
previous_days as (

    select
        series_id,
        sales_date,
        units,
        revenue,
        {%- for measure in measures %}
        {%- for k in range(1, days_back + 1) %}
        lag({{ measure }}, {{ k }}) over (partition by series_id order by sales_date) as {{ measure }}_prev_{{ k }},
        {%- endfor %}
        {%- endfor %}
        {%- for window in windows %}
        count(*) over (
            partition by series_id order by sales_date rows between {{ window }} preceding and 1 preceding
        ) as prior_days_{{ window }}{{ ',' if not loop.last }}
        {%- endfor %}
    from daily_sales

),

calendar as (

    select
        date_day,
        day_of_week,
        is_weekend,
        is_holiday
    from {{ ref('dim_calendar') }}

),

-- the rolling sums add the previous days one by one in a fixed order (not a window sum, whose order depends on
-- how much history the query reads), so a night's run and a full refresh agree to the last bit
features as (

    select
        previous_days.series_id,
        previous_days.sales_date,
        previous_days.units,
        previous_days.revenue,
        {%- for measure in measures %}
        {%- for k in lags %}
        previous_days.{{ measure }}_prev_{{ k }} as {{ measure }}_lag_{{ k }},
        {%- endfor %}
        {%- endfor %}
        {%- for measure in measures %}
        {%- for window in windows %}
        -- null for a series without the measure (units of a revenue-only export), whose every day lacks it
        case when previous_days.{{ measure }} is not null then (
            {%- for k in range(1, window + 1) %}
            coalesce(previous_days.{{ measure }}_prev_{{ k }}, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        ) / nullif(previous_days.prior_days_{{ window }}, 0) end as {{ measure }}_mean_{{ window }},
        {%- endfor %}
        {%- endfor %}
        calendar.day_of_week,
        calendar.is_weekend,
        calendar.is_holiday
    from previous_days
    left join calendar
        on previous_days.sales_date = calendar.date_day
    {%- if is_incremental() %}
    where previous_days.sales_date >= {{ rebuild_from() }}
    {%- endif %}

)

select * from features

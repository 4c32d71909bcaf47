{#- Every past forecast against the actual of its period, beside the seasonal naive it could have made itself: the
    actual one or more whole seasons before the target, never after the forecast's own as-of date. A period is
    scored on the night it completed (scored_on), once the sales mart holds that night. A view over the forecasts
    and the daily sales (the hourly features mart for an hourly dataset), so it is never behind either. -#}
{%- set frequency = var('series_frequency') -%}
{%- set season = {'hourly': 24, 'daily': 7, 'weekly': 52, 'monthly': 12}[frequency] -%}
{#- an hourly series' period is its forecast's target_time (target_date is the hour's day) -#}
{%- set target_period = 'forecasts.target_time' if frequency == 'hourly' else 'forecasts.target_date' -%}

-- every grain depends on fct_daily_sales (the unit test gives it; the hourly branch reads the hourly mart instead)
-- depends_on: {{ ref('fct_daily_sales') }}
with forecasts as (

    select * from {{ ref('stg_predictions__forecasts') }}

),

daily_sales as (

    select
        series_id,
        sales_date,
        units,
        revenue,
        {%- if frequency == 'hourly' %}
        sales_hour as period_date
    from {{ ref('features_series_hourly') }}
        {%- else %}
        {%- if frequency == 'daily' %}
        sales_date as period_date
        {%- elif frequency == 'weekly' %}
        {#- the week's last day: weeks end on var('series_week_ends_on') (Monday = 0), as the forecast job labels them #}
        {{ dbt.dateadd('day', '(' ~ (var('series_week_ends_on') + 8) ~ ' - ' ~ iso_day_of_week('sales_date') ~ ') % 7', 'sales_date') }} as period_date
        {%- else %}
        cast({{ dbt.date_trunc('month', 'sales_date') }} as date) as period_date
        {%- endif %}
    from {{ ref('fct_daily_sales') }}
        {%- endif %}

),

sales_period as (

    select max(sales_date) as last_sales_date
    from daily_sales

),

-- the actual of each period: the sum of its days (a day is a period for a daily series)
period_actuals as (

    select
        series_id,
        period_date,
        {%- if frequency == 'monthly' %}
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'period_date')) }} as date) as period_end,
        {%- elif frequency == 'hourly' %}
        cast(period_date as date) as period_end,
        {%- else %}
        period_date as period_end,
        {%- endif %}
        {{ exact_sum('units') }} as units,
        {{ exact_sum('revenue') }} as revenue
    from daily_sales
    group by series_id, period_date

),

complete_periods as (

    select period_actuals.*
    from period_actuals
    cross join sales_period
    where period_actuals.period_end <= sales_period.last_sales_date

),

-- the seasonal naive's target: whole seasons back, as many as the horizon step needs to stay in the past
scored as (

    select
        forecasts.*,
        actuals.period_end as scored_on,
        case when forecasts.target = 'units' then actuals.units else actuals.revenue end as actual,
        cast(
            {%- if frequency == 'monthly' %}
            {{ dbt.dateadd('month', '-' ~ season ~ ' * cast(ceil(forecasts.horizon_step / ' ~ season ~ '.0) as integer)', 'forecasts.target_date') }}
            {%- elif frequency == 'hourly' %}
            {{ dbt.dateadd('hour', '-' ~ season ~ ' * cast(ceil(forecasts.horizon_step / ' ~ season ~ '.0) as integer)', 'forecasts.target_time') }}
            {%- else %}
            {{ dbt.dateadd('day', '-' ~ (season * (7 if frequency == 'weekly' else 1)) ~ ' * cast(ceil(forecasts.horizon_step / ' ~ season ~ '.0) as integer)', 'forecasts.target_date') }}
            {%- endif %}
            as {{ 'timestamp' if frequency == 'hourly' else 'date' }}
        ) as naive_date
    from forecasts
    inner join complete_periods as actuals
        on forecasts.series_id = actuals.series_id
        and {{ target_period }} = actuals.period_date
    where forecasts.as_of_date < actuals.period_end

),

accuracy as (

    select
        scored.scored_on,
        scored.series_id,
        scored.as_of_date,
        scored.target_date,
        scored.target_time,
        scored.horizon_step,
        scored.actual,
        scored.yhat,
        scored.yhat - scored.actual as error,
        abs(scored.yhat - scored.actual) as abs_error,
        case when scored.actual <> 0 then abs(scored.yhat - scored.actual) / abs(scored.actual) end as ape,
        scored.actual between scored.yhat_lower_80 and scored.yhat_upper_80 as within_80,
        scored.actual between scored.yhat_lower_95 and scored.yhat_upper_95 as within_95,
        case when scored.target = 'units' then naive.units else naive.revenue end as naive_yhat,
        abs(case when scored.target = 'units' then naive.units else naive.revenue end - scored.actual)
            as naive_abs_error,
        scored.model,
        scored.model_version,
        scored.run_id,
        scored.yhat_statistical,
        abs(scored.yhat_statistical - scored.actual) as statistical_abs_error,
        scored.override_id
    from scored
    left join period_actuals as naive
        on scored.series_id = naive.series_id
        and scored.naive_date = naive.period_date

)

select * from accuracy

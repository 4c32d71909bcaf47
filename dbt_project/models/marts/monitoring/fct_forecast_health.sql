{#- Forecast health as of run_date: the rolling error of the forecasts whose actuals landed in the last 28 nights,
    against the backtest error the serving versions promised when they were trained and against the seasonal naive
    on the same periods; per series and overall. sMAPE throughout, the one error comparable across series and
    with the backtests (percent, 0..200). -#}
{%- set window_days = 28 -%}

with accuracy as (

    select * from {{ ref('forecast_accuracy') }}
    where scored_on <= {{ run_date() }}
        and scored_on > {{ dbt.dateadd('day', -window_days, run_date()) }}

),

backtests as (

    select * from {{ ref('stg_predictions__backtest_metrics') }}

),

-- what each version promised: its own selected candidate's and the seasonal naive's mean backtest sMAPE (as
-- doubles: Spark averages decimals as decimals, rounded to their scale)
promised as (

    select
        series_id,
        as_of_date,
        avg(case when selected then cast(smape as double) end) as backtest_smape,
        avg(case when role = 'baseline' then cast(smape as double) end) as naive_backtest_smape
    from backtests
    group by series_id, as_of_date

),

scored as (

    select
        accuracy.series_id,
        accuracy.model_version,
        case when abs(accuracy.yhat) + abs(accuracy.actual) > 0
            then cast(200 as double) * accuracy.abs_error / (abs(accuracy.yhat) + abs(accuracy.actual)) else 0 end as smape,
        case when accuracy.naive_yhat is null then null
            when abs(accuracy.naive_yhat) + abs(accuracy.actual) > 0
            then cast(200 as double) * accuracy.naive_abs_error / (abs(accuracy.naive_yhat) + abs(accuracy.actual))
            else 0 end as naive_smape,
        promised.backtest_smape,
        promised.naive_backtest_smape
    from accuracy
    left join promised
        on accuracy.series_id = promised.series_id
        and {{ try_cast('accuracy.model_version', 'date') }} = promised.as_of_date

),

per_series as (

    select
        series_id,
        count(*) as scored,
        {{ distinct_list('model_version') }} as model_versions,
        avg(smape) as rolling_smape,
        avg(naive_smape) as naive_rolling_smape,
        avg(backtest_smape) as backtest_smape,
        avg(naive_backtest_smape) as naive_backtest_smape
    from scored
    group by series_id

),

overall as (

    select
        'overall' as series_id,
        count(*) as scored,
        {{ distinct_list('model_version') }} as model_versions,
        avg(smape) as rolling_smape,
        avg(naive_smape) as naive_rolling_smape,
        avg(backtest_smape) as backtest_smape,
        avg(naive_backtest_smape) as naive_backtest_smape
    from scored
    having count(*) > 0

),

health as (

    select * from per_series
    union all
    select * from overall

)

select
    {{ run_date() }} as as_of_date,
    series_id,
    scored,
    model_versions,
    -- rounded: a parallel avg() sums in thread order, so the last bits differ between runs of the same night
    round(rolling_smape, 9) as rolling_smape,
    round(naive_rolling_smape, 9) as naive_rolling_smape,
    round(backtest_smape, 9) as backtest_smape,
    round(naive_backtest_smape, 9) as naive_backtest_smape,
    round(rolling_smape / nullif(backtest_smape, 0), 9) as error_ratio,
    round(rolling_smape / nullif(naive_rolling_smape, 0), 9) as naive_ratio
from health

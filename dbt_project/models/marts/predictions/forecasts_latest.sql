{#- Each series' newest forecast: the rows of its latest as_of_date. A view, so it follows every night's write. -#}
with forecasts as (

    select
        *,
        max(as_of_date) over (partition by series_id) as latest_as_of_date
    from {{ ref('stg_predictions__forecasts') }}

),

latest as (

    select
        as_of_date,
        series_id,
        target,
        target_date,
        frequency,
        target_time,
        horizon_step,
        yhat,
        yhat_lower_80,
        yhat_upper_80,
        yhat_lower_95,
        yhat_upper_95,
        model,
        model_version,
        run_id
    from forecasts
    where as_of_date = latest_as_of_date

)

select * from latest

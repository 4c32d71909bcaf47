{#- Every night's forecasts of every series, each version kept: the rows of predictions.forecasts as the staging
    model types them, with the model's value in yhat_statistical and the grain in frequency on rows written before
    those columns existed. A view, so it follows every night's write; the dashboards read the forecasts here. -#}
with forecasts as (

    select * from {{ ref('stg_predictions__forecasts') }}

),

versions as (

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
        yhat_statistical,
        yhat_base,
        override_id,
        model,
        model_version,
        run_id
    from forecasts

)

select * from versions

with forecasts as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(series_id as string) as series_id,
        cast(target as string) as target,
        cast(target_date as date) as target_date,
        cast(horizon_step as integer) as horizon_step,
        cast(yhat as double) as yhat,
        cast(yhat_lower_80 as double) as yhat_lower_80,
        cast(yhat_upper_80 as double) as yhat_upper_80,
        cast(yhat_lower_95 as double) as yhat_lower_95,
        cast(yhat_upper_95 as double) as yhat_upper_95,
        cast(model as string) as model,
        cast(model_version as string) as model_version,
        cast(run_id as string) as run_id,
        cast(yhat_statistical as double) as yhat_statistical,
        cast(override_id as string) as override_id,
        cast(yhat_base as double) as yhat_base,
        cast(frequency as string) as frequency,
        cast(target_time as timestamp) as target_time
    from {{ source('predictions', 'forecasts') }}

)

select * from forecasts

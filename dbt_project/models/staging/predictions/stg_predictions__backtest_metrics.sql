with backtest_metrics as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(series_id as string) as series_id,
        cast(candidate as string) as candidate,
        cast(model as string) as model,
        cast(role as string) as role,
        cast(fold as integer) as fold,
        cast(smape as double) as smape,
        cast(mase as double) as mase,
        cast(selected as boolean) as selected
    from {{ source('predictions', 'backtest_metrics') }}

)

select * from backtest_metrics

with customer_value as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(customer_id as string) as customer_id,
        cast(horizon_days as integer) as horizon_days,
        cast(probability_active as double) as probability_active,
        cast(expected_purchases as double) as expected_purchases,
        cast(purchases_lower_80 as double) as purchases_lower_80,
        cast(purchases_upper_80 as double) as purchases_upper_80,
        cast(expected_revenue as double) as expected_revenue,
        cast(revenue_lower_80 as double) as revenue_lower_80,
        cast(revenue_upper_80 as double) as revenue_upper_80,
        cast(model as string) as model,
        cast(model_version as string) as model_version,
        cast(run_id as string) as run_id
    from {{ source('predictions', 'customer_value') }}

)

select * from customer_value

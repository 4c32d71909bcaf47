{#- Every earlier night's customer-value prediction whose horizon has closed, against the purchase days and the
    revenue the customer bought in it: the days after the as-of date up to as_of_date + horizon_days (scored_on),
    scored once the sales mart holds that night, as forecast_accuracy scores a period. With the customer's segment
    on the as-of date (null when segmentation is off or had not scored that night). A view over the predictions
    and the marts, so it is never behind either; erased customers leave it with their rows. -#}
with predictions as (

    select
        customer_value.*,
        cast({{ dbt.dateadd('day', 'customer_value.horizon_days', 'customer_value.as_of_date') }} as date) as scored_on
    from {{ ref('stg_predictions__customer_value') }} as customer_value

),

sales_period as (

    select max(sales_date) as last_sales_date
    from {{ ref('fct_daily_sales') }}

),

closed as (

    select predictions.*
    from predictions
    cross join sales_period
    where predictions.scored_on <= sales_period.last_sales_date

),

followed as (

    select
        closed.as_of_date,
        closed.customer_id,
        count(purchase_days.purchase_date) as actual_purchases,
        coalesce({{ exact_sum('purchase_days.revenue') }}, cast(0 as double)) as actual_revenue
    from closed
    left join {{ ref('fct_customer_purchase_days') }} as purchase_days
        on closed.customer_id = purchase_days.customer_id
        and purchase_days.purchase_date > closed.as_of_date
        and purchase_days.purchase_date <= closed.scored_on
    group by closed.as_of_date, closed.customer_id

)

select
    closed.scored_on,
    closed.as_of_date,
    closed.customer_id,
    segments.segment_name,
    closed.horizon_days,
    closed.probability_active,
    closed.expected_purchases,
    cast(followed.actual_purchases as double) as actual_purchases,
    closed.expected_purchases - followed.actual_purchases as purchases_error,
    followed.actual_purchases between closed.purchases_lower_80 and closed.purchases_upper_80
        as purchases_within_80,
    closed.expected_revenue,
    followed.actual_revenue,
    closed.expected_revenue - followed.actual_revenue as revenue_error,
    followed.actual_revenue between closed.revenue_lower_80 and closed.revenue_upper_80 as revenue_within_80,
    closed.model,
    closed.model_version,
    closed.run_id
from closed
inner join followed
    on closed.as_of_date = followed.as_of_date
    and closed.customer_id = followed.customer_id
left join {{ ref('stg_predictions__customer_segments') }} as segments
    on closed.as_of_date = segments.as_of_date
    and closed.customer_id = segments.customer_id

{#- One snapshot per run date, kept as history for the segmentation models. A --full-refresh could only rebuild
    the run date's snapshot and would drop every earlier one, so it is turned off for this model.
    Only product sales and returns count: postage, fees and adjustments say nothing about what a customer buys. -#}
{{ config(full_refresh=false, **incremental_by_date('as_of_date')) }}

with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where customer_id is not null
        and is_product_sale
        and business_date <= {{ run_date() }}

),

customer_orders as (

    select
        customer_id,
        min(case when not is_return then business_date end) as first_order_date,
        max(case when not is_return then business_date end) as last_order_date,
        count(distinct case when not is_return then order_id end) as frequency,
        count(distinct case when not is_return then business_date end) as order_days,
        {{ exact_sum('revenue') }} as monetary,
        {{ exact_sum('case when not is_return then revenue else 0 end') }} as gross_order_value,
        {{ exact_sum('case when is_return then -revenue else 0 end') }} as returned_value,
        count(distinct case when not is_return then product_id end) as product_variety
    from sales_lines
    group by customer_id

),

features as (

    select
        {{ run_date() }} as as_of_date,
        customer_id,
        {{ dbt.datediff('last_order_date', run_date(), 'day') }} as recency_days,
        frequency,
        monetary,
        {{ dbt.datediff('first_order_date', run_date(), 'day') }} as tenure_days,
        gross_order_value / frequency as avg_basket_value,
        -- share of the value bought that came back (returns of sales before the data began can push it past 1)
        case when gross_order_value > 0 then returned_value / gross_order_value end as return_rate,
        product_variety,
        -- mean gap between the days with an order; null until a customer has ordered on two days
        case
            when order_days > 1
                then cast({{ dbt.datediff('first_order_date', 'last_order_date', 'day') }} as double) / (order_days - 1)
        end as avg_days_between_orders
    from customer_orders
    -- customers whose only lines are returns have bought nothing yet
    where frequency > 0

)

select * from features

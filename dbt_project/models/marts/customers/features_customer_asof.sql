{#- One snapshot per run date, kept as history for the segmentation models. A --full-refresh could only rebuild
    the run date's snapshot and would drop every earlier one, so it is turned off for this model. -#}
{{ config(full_refresh=false, **incremental_by_date('as_of_date')) }}

with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where customer_id is not null
        and business_date <= {{ run_date() }}

),

customer_orders as (

    select
        customer_id,
        min(case when not is_return then business_date end) as first_order_date,
        max(case when not is_return then business_date end) as last_order_date,
        count(distinct case when not is_return then order_id end) as frequency,
        sum(revenue) as monetary,
        sum(case when not is_return then revenue else 0 end) as gross_order_value
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
        gross_order_value / frequency as avg_basket_value
    from customer_orders
    -- customers whose only lines are returns have bought nothing yet
    where frequency > 0

)

select * from features

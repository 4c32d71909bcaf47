{#- The buy-till-you-die summary of each customer as of the run date (the BG/NBD and Gamma-Gamma convention of
    `lifetimes` and PyMC-Marketing), from the purchase days on or before it. One snapshot per run date, kept as
    history like features_customer_asof, and for the same reason --full-refresh is off: it could only rebuild the
    run date's snapshot. A sibling of features_customer_asof rather than more columns of it, so warehouses built
    before it need no migration of that table. -#}
{{ config(full_refresh=false, **incremental_by_date('as_of_date')) }}

with purchase_days as (

    select * from {{ ref('fct_customer_purchase_days') }}
    where purchase_date <= {{ run_date() }}

),

customers as (

    select
        customer_id,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) as purchase_days,
        {{ exact_sum('revenue') }} as revenue
    from purchase_days
    group by customer_id

),

first_days as (

    select
        customers.*,
        purchase_days.revenue as first_day_revenue
    from customers
    inner join purchase_days
        on customers.customer_id = purchase_days.customer_id
        and customers.first_purchase_date = purchase_days.purchase_date

)

select
    {{ run_date() }} as as_of_date,
    customer_id,
    cast(purchase_days - 1 as double) as frequency,
    cast({{ dbt.datediff('first_purchase_date', 'last_purchase_date', 'day') }} as double) as recency,
    cast({{ dbt.datediff('first_purchase_date', run_date(), 'day') }} as double) as {{ adapter.quote('T') }},
    -- the first purchase day is left out of the mean, as the Gamma-Gamma model expects
    case
        when purchase_days > 1 then (revenue - first_day_revenue) / (purchase_days - 1)
        else cast(0 as double)
    end as monetary_value
from first_days

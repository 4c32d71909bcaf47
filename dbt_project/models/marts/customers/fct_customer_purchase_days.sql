{#- Each customer's purchase days up to the run date: a day with at least one product sale that is not a return
    (the lines features_customer_asof counts: postage, fees, adjustments, returns and lines without a customer
    left out), with the value bought that day. Rebuilt every run, so an erased customer's lines (their customer id
    cleared) leave it. The customer-value night backtests on it and customer_value_accuracy scores against it. -#}
with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where customer_id is not null
        and is_product_sale
        and not is_return
        and business_date <= {{ run_date() }}

)

select
    customer_id,
    business_date as purchase_date,
    {{ exact_sum('revenue') }} as revenue
from sales_lines
group by customer_id, business_date

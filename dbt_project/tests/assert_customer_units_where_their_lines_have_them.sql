{#- A customer's units are null only when none of their lines has units (an aggregated export of what customers
    spent, without quantities): for sales lines, which always have a quantity, this is not_null on
    dim_customers.units. -#}
select dim_customers.customer_id
from {{ ref('dim_customers') }} as dim_customers
where dim_customers.units is null
    and exists (
        select 1
        from {{ ref('fct_sales_lines') }} as lines
        where lines.customer_id = dim_customers.customer_id
            and lines.quantity is not null
            and lines.business_date <= {{ run_date() }}
    )

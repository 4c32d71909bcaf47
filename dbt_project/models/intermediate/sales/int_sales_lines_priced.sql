with sales_lines as (

    select * from {{ ref('stg_raw__sales_lines') }}

),

priced as (

    select
        line_id,
        business_date,
        order_id,
        ordered_at,
        customer_id,
        product_id,
        product_name,
        location,
        quantity,
        unit_price,
        quantity * unit_price as revenue,
        quantity < 0 as is_return
    from sales_lines

)

select * from priced

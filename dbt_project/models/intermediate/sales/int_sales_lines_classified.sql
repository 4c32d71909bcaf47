{#- Every line with its revenue and what kind of line it is (see the line_kind description):
    non-product codes first (postage is postage whatever its sign), then returns (an aggregated row's negative
    total among them), stock adjustments, free items and sales. -#}
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
        revenue,
        {{ non_product_category('product_id') }} as non_product_category
    from sales_lines

),

classified as (

    select
        *,
        case
            when non_product_category is not null then 'non_product'
            -- an aggregated row (no unit price) whose total is negative: refunds exceeded sales that period
            when unit_price is null and (revenue < 0 or quantity < 0) then 'return'
            when quantity < 0 and {{ is_return_order('order_id') }} then 'return'
            when quantity < 0 then 'stock_adjustment'
            when unit_price = 0 then 'free_item'
            else 'sale'
        end as line_kind
    from priced

)

select
    *,
    line_kind = 'return' as is_return,
    line_kind in ('sale', 'return') as is_product_sale
from classified

{#- Every line with its revenue, what kind of line it is (see the line_kind description) and the rule that said so
    (line_kind_rule): non-product codes first (postage is postage whatever its sign), then returns, stock
    adjustments, free items and sales. -#}
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
        {{ non_product_category('product_id') }} as non_product_category
    from sales_lines

),

ruled as (

    {#- the rule that classifies the line (line_kind_rule), in the order they are checked: negative lines outside
        a return order by the dataset config's classification.negative_quantities -#}
    {%- set negative = var('negative_quantities', 'by_order') %}
    select
        *,
        case
            when non_product_category is not null then 'non_product_code'
            when quantity < 0 and {{ is_return_order('order_id') }} then 'return_order'
            {%- if negative == 'all_returns' %}
            when quantity < 0 then 'negative_quantity_is_return'
            {%- elif negative == 'by_price' %}
            when quantity < 0 and unit_price <> 0 then 'negative_quantity_at_a_price'
            when quantity < 0 then 'negative_quantity_at_price_zero'
            {%- else %}
            when quantity < 0 then 'negative_quantity_outside_return_order'
            {%- endif %}
            when unit_price = 0 then 'zero_price'
            else 'positive_quantity_at_a_price'
        end as line_kind_rule
    from priced

),

classified as (

    select
        *,
        case line_kind_rule
            when 'non_product_code' then 'non_product'
            when 'return_order' then 'return'
            when 'negative_quantity_is_return' then 'return'
            when 'negative_quantity_at_a_price' then 'return'
            when 'zero_price' then 'free_item'
            when 'positive_quantity_at_a_price' then 'sale'
            else 'stock_adjustment'
        end as line_kind
    from ruled

)

select
    *,
    line_kind = 'return' as is_return,
    line_kind in ('sale', 'return') as is_product_sale
from classified

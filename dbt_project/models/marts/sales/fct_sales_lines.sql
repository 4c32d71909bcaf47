{{ config(**incremental_by_date('business_date')) }}

with sales_lines as (

    select * from {{ ref('int_sales_lines_priced') }}
    {% if is_incremental() -%}
    where business_date = {{ run_date() }}
    {%- endif %}

),

final as (

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
        is_return
    from sales_lines

)

select * from final

{#- Every line, classified, and every return linked to the sale it cancels where one exists: the latest sale of
    the same product to the same customer at or before the return, preferring one at least as large as the
    return. A return only ever looks back, so a night and a full refresh link alike. An incremental run rebuilds
    the dates from rebuild_from() to the run date and finds earlier sales in the table itself. -#}
{{ config(**incremental_by_date('business_date')) }}

with sales_lines as (

    select * from {{ ref('int_sales_lines_classified') }}
    where business_date <= {{ run_date() }}
    {%- if is_incremental() %}
        and business_date >= {{ rebuild_from() }}
    {%- endif %}

),

returns_of_customers as (

    select
        line_id,
        customer_id,
        product_id,
        ordered_at,
        quantity
    from sales_lines
    where line_kind = 'return'
        and customer_id is not null

),

candidate_sales as (

    select line_id, order_id, customer_id, product_id, ordered_at, quantity
    from sales_lines
    where line_kind = 'sale'
        and customer_id in (select customer_id from returns_of_customers)
    {%- if is_incremental() %}

    union all

    select line_id, order_id, customer_id, product_id, ordered_at, quantity
    from {{ this }}
    where business_date < {{ rebuild_from() }}
        and line_kind = 'sale'
        and customer_id in (select customer_id from returns_of_customers)
    {%- endif %}

),

ranked_matches as (

    select
        returns_of_customers.line_id as return_line_id,
        candidate_sales.line_id as sale_line_id,
        candidate_sales.order_id as sale_order_id,
        row_number() over (
            partition by returns_of_customers.line_id
            order by
                case when candidate_sales.quantity >= -returns_of_customers.quantity then 0 else 1 end,
                candidate_sales.ordered_at desc,
                candidate_sales.line_id
        ) as match_rank
    from returns_of_customers
    inner join candidate_sales
        on returns_of_customers.customer_id = candidate_sales.customer_id
        and returns_of_customers.product_id = candidate_sales.product_id
        and candidate_sales.ordered_at <= returns_of_customers.ordered_at

),

final as (

    select
        sales_lines.line_id,
        sales_lines.business_date,
        sales_lines.order_id,
        sales_lines.ordered_at,
        sales_lines.customer_id,
        sales_lines.product_id,
        sales_lines.product_name,
        sales_lines.location,
        sales_lines.quantity,
        sales_lines.unit_price,
        sales_lines.revenue,
        sales_lines.line_kind,
        sales_lines.non_product_category,
        sales_lines.is_return,
        sales_lines.is_product_sale,
        ranked_matches.sale_order_id as returned_order_id,
        ranked_matches.sale_line_id as returned_line_id
    from sales_lines
    left join ranked_matches
        on sales_lines.line_id = ranked_matches.return_line_id
        and ranked_matches.match_rank = 1

)

select * from final

{#- Every line, classified, and every return linked to the sale it cancels where one exists: the latest sale of
    the same product to the same customer at or before the return, preferring one at least as large as the
    return (on a tie in time, the smallest line id). It is found in ordered passes over each customer and
    product's sales and returns, never by pairing each return with every earlier sale: those pairs grow with the
    square of a customer's history. A return only ever looks back, so a night and a full refresh link alike. An
    incremental run rebuilds the dates from rebuild_from() to the run date and finds earlier sales in the table
    itself. -#}
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

linked_pairs as (

    select distinct returns_of_customers.customer_id, returns_of_customers.product_id
    from returns_of_customers

),

linkable_sales as (

    select candidate_sales.*
    from candidate_sales
    inner join linked_pairs
        on candidate_sales.customer_id = linked_pairs.customer_id
        and candidate_sales.product_id = linked_pairs.product_id

),

{#- First the latest earlier sale of any size: one pass over each customer and product's sales and returns. -#}
events_any_size as (

    select
        customer_id, product_id, 0 as min_quantity, ordered_at, 0 as is_return_event, line_id, order_id, quantity
    from linkable_sales

    union all

    select customer_id, product_id, 0 as min_quantity, ordered_at, 1 as is_return_event, line_id, null, quantity
    from returns_of_customers

),

{{ latest_sale_at_or_before('latest_sales', 'events_any_size') }},

{#- A return larger than that sale looks again among the sales at least its size: each sale once per such
    return size of its customer and product, rather than once per return. -#}
larger_returns as (

    select returns_of_customers.*
    from returns_of_customers
    inner join latest_sales
        on returns_of_customers.line_id = latest_sales.return_line_id
    where latest_sales.sale_quantity < -returns_of_customers.quantity

),

larger_return_sizes as (

    select distinct customer_id, product_id, -quantity as min_quantity
    from larger_returns

),

events_at_least_return_size as (

    select
        larger_return_sizes.customer_id,
        larger_return_sizes.product_id,
        larger_return_sizes.min_quantity,
        linkable_sales.ordered_at,
        0 as is_return_event,
        linkable_sales.line_id,
        linkable_sales.order_id,
        linkable_sales.quantity
    from linkable_sales
    inner join larger_return_sizes
        on linkable_sales.customer_id = larger_return_sizes.customer_id
        and linkable_sales.product_id = larger_return_sizes.product_id
        and linkable_sales.quantity >= larger_return_sizes.min_quantity

    union all

    select customer_id, product_id, -quantity, ordered_at, 1, line_id, null, quantity
    from larger_returns

),

{{ latest_sale_at_or_before('latest_large_enough_sales', 'events_at_least_return_size') }},

matches as (

    select
        latest_sales.return_line_id,
        coalesce(latest_large_enough_sales.sale_line_id, latest_sales.sale_line_id) as sale_line_id,
        case
            when latest_large_enough_sales.sale_line_id is not null then latest_large_enough_sales.sale_order_id
            else latest_sales.sale_order_id
        end as sale_order_id
    from latest_sales
    left join latest_large_enough_sales
        on latest_sales.return_line_id = latest_large_enough_sales.return_line_id

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
        sales_lines.line_kind_rule,
        sales_lines.non_product_category,
        sales_lines.is_return,
        sales_lines.is_product_sale,
        matches.sale_order_id as returned_order_id,
        matches.sale_line_id as returned_line_id
    from sales_lines
    left join matches
        on sales_lines.line_id = matches.return_line_id

)

select * from final

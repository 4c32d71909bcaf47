with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}
        -- postage, fees and the like are not products
        and line_kind <> 'non_product'

),

product_totals as (

    select
        product_id,
        min(business_date) as first_sold_date,
        max(business_date) as last_sold_date,
        {{ exact_sum('quantity') }} as units,
        {{ exact_sum('revenue') }} as revenue
    from sales_lines
    group by product_id

),

-- names drift over time (typos fixed, renames): the product is called what its latest named line calls it (the
-- largest line id among lines of that same time); found by aggregates and joins, not a sort of every line
named_lines as (

    select product_id, product_name, ordered_at, line_id
    from sales_lines
    where product_name is not null

),

latest_named_times as (

    select product_id, max(ordered_at) as ordered_at
    from named_lines
    group by product_id

),

latest_named_lines as (

    select named_lines.product_id, max(named_lines.line_id) as line_id
    from named_lines
    inner join latest_named_times
        on named_lines.product_id = latest_named_times.product_id
        and named_lines.ordered_at = latest_named_times.ordered_at
    group by named_lines.product_id

),

latest_product_names as (

    select
        named_lines.product_id,
        named_lines.product_name
    from named_lines
    inner join latest_named_lines
        on named_lines.product_id = latest_named_lines.product_id
        and named_lines.line_id = latest_named_lines.line_id

),

final as (

    select
        product_totals.product_id,
        latest_product_names.product_name,
        product_totals.first_sold_date,
        product_totals.last_sold_date,
        product_totals.units,
        product_totals.revenue
    from product_totals
    left join latest_product_names
        on product_totals.product_id = latest_product_names.product_id

)

select * from final

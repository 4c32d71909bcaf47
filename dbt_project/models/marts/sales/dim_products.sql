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
        sum(quantity) as units,
        sum(revenue) as revenue
    from sales_lines
    group by product_id

),

-- names drift over time (typos fixed, renames): the product is called what its latest named line calls it
ranked_product_names as (

    select
        product_id,
        product_name,
        row_number() over (partition by product_id order by ordered_at desc, line_id desc) as name_rank
    from sales_lines
    where product_name is not null

),

latest_product_names as (

    select
        product_id,
        product_name
    from ranked_product_names
    where name_rank = 1

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

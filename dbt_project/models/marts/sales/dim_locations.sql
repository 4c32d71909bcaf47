with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}

),

location_totals as (

    select
        location,
        min(business_date) as first_sale_date,
        max(business_date) as last_sale_date,
        count(*) as lines,
        count(distinct order_id) as orders,
        count(distinct customer_id) as customers,
        sum(revenue) as revenue
    from sales_lines
    group by location

),

final as (

    select
        location,
        first_sale_date,
        last_sale_date,
        lines,
        orders,
        customers,
        revenue,
        revenue / nullif(sum(revenue) over (), 0) as share_of_revenue
    from location_totals

)

select * from final

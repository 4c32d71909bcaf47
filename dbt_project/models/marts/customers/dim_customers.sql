with sales_lines as (

    select * from {{ ref('fct_sales_lines') }}
    where customer_id is not null
        and business_date <= {{ run_date() }}

),

customer_totals as (

    select
        customer_id,
        min(business_date) as first_order_date,
        max(business_date) as last_order_date,
        count(distinct order_id) as orders,
        count(*) as lines,
        {{ exact_sum('quantity') }} as units,
        {{ exact_sum('revenue') }} as revenue
    from sales_lines
    group by customer_id

),

customer_locations as (

    select
        customer_id,
        location,
        count(distinct order_id) as orders,
        {{ exact_sum('revenue') }} as revenue
    from sales_lines
    group by customer_id, location

),

-- the location most of a customer's orders come from; ties go to more revenue, then the name, so reruns agree
ranked_customer_locations as (

    select
        customer_id,
        location,
        row_number() over (
            partition by customer_id
            order by orders desc, revenue desc, location
        ) as location_rank
    from customer_locations

),

main_locations as (

    select
        customer_id,
        location as main_location
    from ranked_customer_locations
    where location_rank = 1

),

final as (

    select
        customer_totals.customer_id,
        customer_totals.first_order_date,
        customer_totals.last_order_date,
        customer_totals.orders,
        customer_totals.lines,
        customer_totals.units,
        customer_totals.revenue,
        main_locations.main_location
    from customer_totals
    inner join main_locations
        on customer_totals.customer_id = main_locations.customer_id

)

select * from final

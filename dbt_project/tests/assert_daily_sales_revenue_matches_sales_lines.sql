{#- Every day's revenue in fct_daily_sales equals the revenue of its product sales and returns, to the cent: the
    total series, which every dataset has, against all of them. -#}

with daily_sales as (

    select
        sales_date,
        sum(revenue) as revenue
    from {{ ref('fct_daily_sales') }}
    where sales_date <= {{ run_date() }}
        and series_id = 'total'
    group by sales_date

),

line_sales as (

    select
        business_date as sales_date,
        sum(revenue) as revenue
    from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}
        and is_product_sale
    group by business_date

),

compared as (

    select
        coalesce(daily_sales.sales_date, line_sales.sales_date) as sales_date,
        coalesce(daily_sales.revenue, 0) as daily_sales_revenue,
        coalesce(line_sales.revenue, 0) as line_revenue
    from daily_sales
    full outer join line_sales
        on daily_sales.sales_date = line_sales.sales_date

)

select * from compared
where abs(daily_sales_revenue - line_revenue) >= 0.005

{#- One row per day from the first business day in the lake to 90 days past the run date, so forecast target
    dates (horizon up to 90 days) join to it. -#}
with sales_period as (

    select min(business_date) as first_day
    from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}

),

days as (

    {{ days_between('sales_period', 'first_day', dbt.dateadd('day', 90, run_date()), 'date_day') }}

),

calendar_days as (

    select
        date_day,
        is_closed,
        holiday_name
    from {{ ref('stg_reference__calendar_days') }}

),

days_described as (

    select
        days.date_day,
        year(days.date_day) as year,
        quarter(days.date_day) as quarter,
        month(days.date_day) as month,
        dayofmonth(days.date_day) as day_of_month,
        {{ iso_day_of_week('days.date_day') }} as day_of_week,
        weekofyear(days.date_day) as iso_week,
        coalesce(calendar_days.is_closed, false) as is_closed,
        calendar_days.holiday_name
    from days
    left join calendar_days
        on days.date_day = calendar_days.date_day

),

final as (

    select
        date_day,
        year,
        quarter,
        month,
        day_of_month,
        day_of_week,
        day_of_week >= 6 as is_weekend,
        iso_week,
        holiday_name is not null as is_holiday,
        holiday_name,
        day_of_week < 6 and holiday_name is null as is_business_day,
        is_closed
    from days_described

)

select * from final

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

holidays as (

    select
        holiday_date,
        holiday_name
    from {{ ref('int_holidays') }}

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
        holidays.holiday_name
    from days
    left join holidays
        on days.date_day = holidays.holiday_date

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
        day_of_week < 6 and holiday_name is null as is_business_day
    from days_described

)

select * from final

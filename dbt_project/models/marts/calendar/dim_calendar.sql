{#- One row per day from the first business day in the lake to the last day of the calendar source, which the
    transform step writes as far past the run date as the dataset's forecasts reach (daybreak.datasets.calendar
    .days_ahead), so every forecast target date joins to it. -#}
with calendar_days as (

    select
        date_day,
        is_closed,
        holiday_name
    from {{ ref('stg_reference__calendar_days') }}

),

sales_period as (

    select min(business_date) as first_day
    from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}

),

calendar_end as (

    select max(date_day) as last_day
    from calendar_days

),

period as (

    select
        sales_period.first_day,
        calendar_end.last_day
    from sales_period
    cross join calendar_end

),

days as (

    {{ days_between('period', 'first_day', 'last_day', 'date_day') }}

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
        day_of_week < 6 and holiday_name is null as is_non_holiday_weekday,
        is_closed
    from days_described

)

select * from final

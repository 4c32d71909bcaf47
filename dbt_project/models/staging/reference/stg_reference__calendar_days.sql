with calendar_days as (

    select
        cast(date_day as date) as date_day,
        cast(is_closed as boolean) as is_closed,
        cast(is_holiday as boolean) as is_holiday,
        cast(holiday_name as string) as holiday_name
    from {{ source('reference', 'calendar_days') }}

)

select * from calendar_days

{#- Every series has a row for each day from its first to its last: features_series_daily takes the k-th row
    before a day as the day k days earlier. -#}
with series_extents as (

    select
        series_id,
        count(*) as days,
        min(sales_date) as first_day,
        max(sales_date) as last_day
    from {{ ref('fct_daily_sales') }}
    group by series_id

)

select * from series_extents
where days <> {{ dbt.datediff('first_day', 'last_day', 'day') }} + 1

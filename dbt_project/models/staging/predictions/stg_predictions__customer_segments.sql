with customer_segments as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(customer_id as string) as customer_id,
        cast(segment_id as integer) as segment_id,
        cast(segment_name as string) as segment_name
    from {{ source('predictions', 'customer_segments') }}

)

select * from customer_segments

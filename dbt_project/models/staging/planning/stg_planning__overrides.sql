with overrides as (

    select
        cast(override_id as string) as override_id,
        cast(series_id as string) as series_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(kind as string) as kind,
        cast(amount as double) as amount,
        cast(reason as string) as reason,
        cast(author as string) as author,
        cast(created_at as timestamp) as created_at,
        cast(as_of_date as date) as as_of_date,
        cast(status as string) as status,
        cast(revoked_by as string) as revoked_by,
        cast(revoked_at as timestamp) as revoked_at,
        cast(revoked_as_of_date as date) as revoked_as_of_date,
        cast(revoke_reason as string) as revoke_reason
    from {{ source('planning', 'overrides') }}

)

select * from overrides

{#- revenue: a sales line's quantity * unit_price, or an aggregated row's own (grain: aggregated; it has no unit
    price). Lake files landed before aggregated exports lack the lake column; a lake of only those has none. -#}
{%- set lake_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source('raw', 'sales_lines')) -%}
        {%- do lake_columns.append(column.name | lower) -%}
    {%- endfor -%}
{%- endif -%}

with source as (

    select * from {{ source('raw', 'sales_lines') }}

),

renamed as (

    select
        {{ dbt.hash(dbt.concat(['file_sha256', "':'", 'cast(source_row as string)'])) }} as line_id,
        cast(business_date as date) as business_date,
        cast(order_id as string) as order_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(customer_id as string) as customer_id,
        cast(product_id as string) as product_id,
        cast(product_name as string) as product_name,
        cast(location as string) as location,
        cast(quantity as double) as quantity,
        cast(unit_price as double) as unit_price,
        case
            when unit_price is not null then cast(quantity as double) * cast(unit_price as double)
            else {{ 'cast(revenue as double)' if 'revenue' in lake_columns else 'cast(null as double)' }}
        end as revenue,
        cast(source_file as string) as source_file,
        cast(source_row as bigint) as source_row,
        cast(file_sha256 as string) as file_sha256
    from source
    where business_date <= {{ run_date() }}

)

select * from renamed

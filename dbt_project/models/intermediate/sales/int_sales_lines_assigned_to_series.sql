{#- Each product sale or return once per series it counts towards: its keyed series (when series_keys is set and
    the line passes series_include) and the "total" series, which every dataset has (with one location it equals
    that location's series). Postage, fees, stock adjustments and free items are not demand, so no series counts
    them. -#}
{%- set series = series_config() -%}

with sales_lines as (

    select * from {{ ref('int_sales_lines_classified') }}
    where is_product_sale

),
{% if series['keys'] %}
lines_in_keyed_series as (

    select
        {{ series_id(series['keys']) }} as series_id,
        {{ 'location' if 'location' in series['keys'] else 'cast(null as string)' }} as location,
        {{ 'product_id' if 'product_id' in series['keys'] else 'cast(null as string)' }} as product_id,
        business_date,
        ordered_at,
        order_id,
        quantity,
        revenue
    from sales_lines
    where {{ series_include_filter() }}

),
{% endif %}
lines_in_total_series as (

    select
        'total' as series_id,
        cast(null as string) as location,
        cast(null as string) as product_id,
        business_date,
        ordered_at,
        order_id,
        quantity,
        revenue
    from sales_lines

),

lines_in_series as (

    {% if series['keys'] -%}
    select * from lines_in_keyed_series
    union all
    {% endif -%}
    select * from lines_in_total_series

)

select * from lines_in_series

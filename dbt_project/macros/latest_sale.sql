{#- Two CTEs: `name`_counted, then `name`, with for each return event in `events` the latest sale event at or
    before it in the same customer, product and min_quantity group, a tie in time going to the smallest line id.
    `events` has customer_id, product_id, min_quantity, ordered_at, is_return_event (0 or 1), line_id, order_id
    and quantity. One window counts the sales so far along each group's timeline, so a return's count is the
    position of the sale it links to: plain window SQL that DuckDB and Spark both run (Spark has no as-of join),
    linear in the events where pairing each return with every earlier sale grows with their product. `name` has
    return_line_id, sale_line_id, sale_order_id and sale_quantity; a return without an earlier sale has no row. -#}
{% macro latest_sale_at_or_before(name, events) -%}
{{ name }}_counted as (

    select
        {{ events }}.*,
        sum(1 - is_return_event) over (
            partition by customer_id, product_id, min_quantity
            order by ordered_at, is_return_event, line_id desc
            rows between unbounded preceding and current row
        ) as sales_so_far
    from {{ events }}

),

{{ name }} as (

    select
        return_events.line_id as return_line_id,
        sale_events.line_id as sale_line_id,
        sale_events.order_id as sale_order_id,
        sale_events.quantity as sale_quantity
    from {{ name }}_counted as return_events
    inner join {{ name }}_counted as sale_events
        on return_events.customer_id = sale_events.customer_id
        and return_events.product_id = sale_events.product_id
        and return_events.min_quantity = sale_events.min_quantity
        and return_events.sales_so_far = sale_events.sales_so_far
    where return_events.is_return_event = 1
        and sale_events.is_return_event = 0

)
{%- endmacro %}

{#- How a sales line is classified (int_sales_lines_classified), from the dataset config's `classification:`
    section, passed by the transform job as vars:
      return_order_prefix   orders whose id starts with it are returns; null = every negative line is a return
      negative_quantities   a negative line outside a return order: by_order (a stock adjustment), by_price (a
                            stock adjustment at price 0, else a return) or all_returns
      non_product_codes     {product_id: category} for codes that are not goods (postage, fees, ...)
      non_product_patterns  [[regular expression, category], ...] matched against the whole product_id
    The values are configuration, not user input; they are still quoted as SQL string literals. -#}

{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro full_match(column, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'daybreak')(column, pattern)) }}
{%- endmacro %}

{% macro default__full_match(column, pattern) -%}
    regexp_full_match({{ column }}, {{ sql_string(pattern) }})
{%- endmacro %}

{% macro spark__full_match(column, pattern) -%}
    {{ column }} rlike {{ sql_string('^(?:' ~ pattern ~ ')$') }}
{%- endmacro %}

{#- The non-product category of a line's product_id, or null for goods. -#}
{% macro non_product_category(product_id) -%}
    {%- set codes = var('non_product_codes', {}) or {} -%}
    {%- set patterns = var('non_product_patterns', []) or [] -%}
    {%- if not codes and not patterns -%}
        cast(null as string)
    {%- else -%}
        case
            {%- for code, category in codes.items() %}
            when {{ product_id }} = {{ sql_string(code) }} then {{ sql_string(category) }}
            {%- endfor %}
            {%- for pattern, category in patterns %}
            when {{ full_match(product_id, pattern) }} then {{ sql_string(category) }}
            {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}

{#- Whether an order is a return/cancellation order, by its id's prefix. -#}
{% macro is_return_order(order_id) -%}
    {%- set prefix = var('return_order_prefix', none) -%}
    {%- if prefix is none or prefix == '' -%}
        true
    {%- else -%}
        substr({{ order_id }}, 1, {{ prefix | length }}) = {{ sql_string(prefix) }}
    {%- endif -%}
{%- endmacro %}

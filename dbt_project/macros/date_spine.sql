{#- One row per day from start_column to end_date (both included), for each row of relation, as column
    column_name. Engines spell "a row per day" differently. -#}
{% macro days_between(relation, start_column, end_date, column_name) -%}
    {{ return(adapter.dispatch('days_between', 'daybreak')(relation, start_column, end_date, column_name)) }}
{%- endmacro %}

{% macro default__days_between(relation, start_column, end_date, column_name) -%}
    select cast(unnest(generate_series({{ start_column }}, {{ end_date }}, interval 1 day)) as date) as {{ column_name }}
    from {{ relation }}
{%- endmacro %}

{#- dates, not timestamps: Spark's date arithmetic (dbt.dateadd) gives a timestamp, and the column is a date on both -#}
{% macro spark__days_between(relation, start_column, end_date, column_name) -%}
    select explode(sequence(cast({{ start_column }} as date), cast({{ end_date }} as date), interval 1 day)) as {{ column_name }}
    from {{ relation }}
{%- endmacro %}

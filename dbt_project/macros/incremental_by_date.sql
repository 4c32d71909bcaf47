{#- Config of a model that is incremental on a date column: a run replaces the rows of the dates it writes and
    keeps the others. DuckDB deletes those dates and inserts; Spark has no delete+insert and overwrites the
    dates' partitions instead. Use as {{ config(**incremental_by_date('business_date')) }}. -#}
{% macro incremental_by_date(date_column) -%}
    {{ return(adapter.dispatch('incremental_by_date', 'daybreak')(date_column)) }}
{%- endmacro %}

{% macro default__incremental_by_date(date_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': date_column,
    }) }}
{%- endmacro %}

{% macro spark__incremental_by_date(date_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [date_column],
    }) }}
{%- endmacro %}

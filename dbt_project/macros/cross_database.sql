{#- What dbt's cross-database macros (dbt.dateadd, dbt.datediff, dbt.date_trunc, dbt.concat, dbt.hash ...) do not
    cover, dispatched per engine like them. -#}

{#- expression cast to type, or null where it does not convert (dbt.safe_cast is a plain cast on DuckDB, which
    fails instead). Spark's cast returns null with ANSI mode off, which dbt-spark sets. -#}
{% macro try_cast(expression, type) -%}
    {{ return(adapter.dispatch('try_cast', 'daybreak')(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro spark__try_cast(expression, type) -%}
    cast({{ expression }} as {{ type }})
{%- endmacro %}

{#- The distinct values of a string column in a group, sorted, joined by commas (null for no values). -#}
{% macro distinct_list(column) -%}
    {{ return(adapter.dispatch('distinct_list', 'daybreak')(column)) }}
{%- endmacro %}

{% macro default__distinct_list(column) -%}
    string_agg(distinct {{ column }}, ',' order by {{ column }})
{%- endmacro %}

{% macro spark__distinct_list(column) -%}
    nullif(array_join(array_sort(collect_set({{ column }})), ','), '')
{%- endmacro %}

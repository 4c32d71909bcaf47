{#- Spark only (on-run-start): the tables Daybreak's Python jobs write to DuckDB, and the raw lake, as views of the
    same schema.name in Spark's catalog, over the Parquet the transform job exported (var spark_sources:
    schema.table -> path, built from include/daybreak/warehouse/tables.py by daybreak.nights.spark). DuckDB has them already. -#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources', 'daybreak')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- set sources = var('spark_sources', {}) or {} -%}
    {%- if execute -%}
        {%- for qualified, path in sources.items() | sort -%}
            {%- set schema, name = qualified.split('.') -%}
            {%- do run_query('create database if not exists ' ~ schema) -%}
            {%- do run_query(
                'create or replace view ' ~ schema ~ '.' ~ name
                ~ ' as select * from parquet.`' ~ (path | replace('`', '``')) ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

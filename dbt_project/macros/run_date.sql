{#- The logical date D as a SQL date literal. Every model filters on it, never on the current date, so a backfill
    of D sees exactly what the night of D saw. -#}
{% macro run_date() -%}
    {%- set value = var('run_date') | string -%}
    {%- if execute and not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var run_date must be a date 'YYYY-MM-DD', got '" ~ value ~ "': pass --vars '{\"run_date\": \"2024-01-31\"}'"
        ) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- The first business date an incremental run rebuilds: the run date itself, or an earlier day when a file for it
    landed late (var rebuild_from, set by the transform job from monitoring.rebuild_requests). Incremental models
    replace every date from here to the run date. -#}
{% macro rebuild_from() -%}
    {%- set value = var('rebuild_from', none) -%}
    {%- if value is none -%}
        {{ run_date() }}
    {%- else -%}
        {%- if execute and not modules.re.match('^\d{4}-\d{2}-\d{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error("var rebuild_from must be a date 'YYYY-MM-DD', got '" ~ value ~ "'") }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The logical date D as a SQL date literal. Every model filters on it, never on the current date, so a backfill
    of D sees exactly what the night of D saw.

    D comes from the environment (DAYBREAK_RUN_DATE, set by the transform job), not from a var: dbt re-parses the
    whole project whenever a var changes, which made every night pay a full parse. It is read only when dbt
    executes (`execute`), never while parsing, so dbt's partial parsing records no dependency on it and reuses
    the previous night's parse; while parsing, the macro renders a placeholder date no query ever sees. -#}
{% macro run_date() -%}
    {%- if execute -%}{{ refuse_date_vars() }}{%- endif -%}
    {%- set value = env_var('DAYBREAK_RUN_DATE', '') if execute else '1970-01-01' -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "run_date must be a date 'YYYY-MM-DD' in the environment variable DAYBREAK_RUN_DATE, got '" ~ value ~ "': run `DAYBREAK_RUN_DATE=2024-01-31 dbt build ...`"
        ) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- The first business date an incremental run rebuilds: the run date itself, or an earlier day when a file for it
    landed late (DAYBREAK_REBUILD_FROM, set by the transform job from monitoring.rebuild_requests; unset or empty =
    the run date). Incremental models replace every date from here to the run date. Read at execution only, like
    run_date(). -#}
{% macro rebuild_from() -%}
    {%- set value = env_var('DAYBREAK_REBUILD_FROM', '') if execute else '' -%}
    {%- if value == '' -%}
        {{ run_date() }}
    {%- else -%}
        {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
            {{ exceptions.raise_compiler_error("DAYBREAK_REBUILD_FROM must be a date 'YYYY-MM-DD', got '" ~ value ~ "'") }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The dates were dbt vars before they moved to the environment. A caller still passing them as `--vars` would
    build other dates than it asked for, without a word (dbt ignores a var no model reads): refuse it instead. -#}
{% macro refuse_date_vars() -%}
    {%- for name, variable in [('run_date', 'DAYBREAK_RUN_DATE'), ('rebuild_from', 'DAYBREAK_REBUILD_FROM')] -%}
        {%- if var(name, none) is not none -%}
            {{ exceptions.raise_compiler_error(
                "the var " ~ name ~ " is no longer read: set the environment variable " ~ variable ~ " instead"
            ) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

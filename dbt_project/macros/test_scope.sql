{#- The `where` config of a data test, completed when the test runs rather than when dbt parses the YAML.

    dbt renders a test's config while parsing, so a run date written there would be the date of whichever night
    last parsed the project (partial parsing keeps parses across nights). Instead a `where` names placeholders,
    which this override of dbt's get_where_subquery replaces as the test runs:
      __run_date__                  run_date(), the night's date;
      __dates_written__(column)     the partitions of a date-partitioned incremental model this run wrote: `column`
                                    from rebuild_from() to run_date() (or null), so a night tests what it changed,
                                    not the whole history again; with --full-refresh (a history load, a rebuild)
                                    every row: the whole table.
    The rows a night leaves alone were tested by the night (or the full refresh) that wrote them. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__run_date__', run_date()) -%}
        {%- set where = modules.re.sub('__dates_written__\\(\\s*(\\w+)\\s*\\)', dates_written('\\1'), where) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The predicate __dates_written__(column) stands for (see get_where_subquery), as a replacement for re.sub:
    `column` is `\\1`, the column the placeholder named. -#}
{%- macro dates_written(column) -%}
    {%- if flags.FULL_REFRESH -%}
        (1 = 1)
    {%- else -%}
        ({{ column }} between {{ rebuild_from() }} and {{ run_date() }} or {{ column }} is null)
    {%- endif -%}
{%- endmacro %}

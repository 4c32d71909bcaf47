{#- None of these columns is null: a model's not-null columns in one test, one query and one dbt node, rather than
    dbt's not_null once per column (a night pays dbt about 20 ms of its own work a node, whatever the query scans:
    docs/benchmarks.md). A failing row names its column and how many of the tested rows are null in it; the
    test's `where` config scopes it as it would each not_null. -#}
{% test columns_not_null(model, columns) %}

{%- for column in columns %}
select '{{ column }}' as column_name, count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{%- endfor %}

{% endtest %}

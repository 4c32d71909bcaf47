{#- No row repeats the combination of these columns: the primary key test for composite keys. -#}
{% test unique_combination(model, combination_of_columns) %}

with key_counts as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select * from key_counts
where n_rows > 1

{% endtest %}

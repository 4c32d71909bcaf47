{#- Which forecast series exist, from the vars the nightly job builds out of the dataset config:
    series_keys (list of location/product_id; [] for the total only) and series_include (key -> values the keyed
    series are limited to). Every dataset has the all-locations series "total" besides its keyed series. -#}

{% macro series_config() -%}
    {%- set allowed = ['location', 'product_id'] -%}
    {%- set keys = var('series_keys') or [] -%}
    {%- set include = var('series_include') or {} -%}
    {%- if keys is string or keys is mapping or keys is not iterable -%}
        {{ exceptions.raise_compiler_error("var series_keys must be a list such as ['location'], got " ~ keys) }}
    {%- endif -%}
    {%- for key in keys if key not in allowed -%}
        {{ exceptions.raise_compiler_error("var series_keys: '" ~ key ~ "' is not one of " ~ allowed) }}
    {%- endfor -%}
    {%- if keys | unique | list | length != keys | length -%}
        {{ exceptions.raise_compiler_error("var series_keys repeats a key: " ~ keys) }}
    {%- endif -%}
    {%- if include is not mapping -%}
        {{ exceptions.raise_compiler_error("var series_include must map a key to a list of values, got " ~ include) }}
    {%- endif -%}
    {%- for key, values in include.items() -%}
        {%- if key not in keys -%}
            {{ exceptions.raise_compiler_error("var series_include: '" ~ key ~ "' is not in series_keys " ~ keys) }}
        {%- endif -%}
        {%- if values is string or values is mapping or values is not iterable -%}
            {{ exceptions.raise_compiler_error("var series_include." ~ key ~ " must be a list, got " ~ values) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'keys': keys, 'include': include}) }}
{%- endmacro %}


{#- series_id of a keyed series: key=value pairs joined by "|", e.g. location=1|product_id=23. -#}
{% macro series_id(keys) -%}
    {%- set parts = [] -%}
    {%- for key in keys -%}
        {%- do parts.append(dbt.string_literal(('|' if not loop.first else '') ~ key ~ '=')) -%}
        {%- do parts.append(key) -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{#- A condition true for the lines the keyed series are built from (series_include); "true" when unrestricted. -#}
{% macro series_include_filter() -%}
    {%- set conditions = [] -%}
    {%- for key, values in series_config()['include'].items() | sort -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- do literals.append(dbt.string_literal(dbt.escape_single_quotes(value | string))) -%}
        {%- endfor -%}
        {%- do conditions.append(key ~ ' in (' ~ literals | join(', ') ~ ')' if literals else 'false') -%}
    {%- endfor -%}
    {{ conditions | join(' and ') if conditions else 'true' }}
{%- endmacro %}

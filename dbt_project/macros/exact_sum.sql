{#- The sum of an amount (money, units) that is the same on every engine and every run.

    Doubles added in another order differ in their last bits: DuckDB's parallel aggregation adds in thread order,
    Spark in partition order. Differences of 1e-9 look harmless, but Prophet's optimiser turns them into forecasts
    a few percent apart, so the same night on two engines (or twice on one) would publish different numbers.
    Each amount is rounded to 6 decimals (a millionth of a currency unit: finer than any price) and added as a
    decimal of 38 digits (no sum of real amounts comes near it), which is exact in any order; the total returns
    as a double, the type the marts declare. -#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 6))) as double)
{%- endmacro %}

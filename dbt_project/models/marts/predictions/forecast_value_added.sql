{#- Forecast value added by planners: per override, the scored periods it changed, the final forecast's error
    against the model's own on the same periods, with who made it and why. A view, so it is current the moment a
    night's actuals land. Group it by author or reason for the per-planner and per-reason figures. -#}

with scored as (

    select * from {{ ref('forecast_accuracy') }}
    where override_id is not null

),

overrides as (

    select * from {{ ref('stg_planning__overrides') }}

),

per_override as (

    select
        override_id,
        count(*) as scored_periods,
        sum(actual) as actual,
        sum(abs(actual)) as absolute_actual,
        sum(abs_error) as final_abs_error,
        sum(statistical_abs_error) as statistical_abs_error
    from scored
    group by override_id

)

select
    overrides.override_id,
    overrides.series_id,
    overrides.author,
    overrides.reason,
    overrides.kind,
    overrides.amount,
    overrides.status,
    per_override.scored_periods,
    per_override.actual,
    per_override.final_abs_error,
    per_override.statistical_abs_error,
    per_override.statistical_abs_error - per_override.final_abs_error as value_added,
    per_override.final_abs_error / nullif(per_override.absolute_actual, 0) as final_wape,
    per_override.statistical_abs_error / nullif(per_override.absolute_actual, 0) as statistical_wape
from overrides
inner join per_override on overrides.override_id = per_override.override_id

{#- Revenue is never lost or made up between the landed files and the marts: for every business day up to the run
    date, the revenue of fct_sales_lines equals the revenue ingest read from that day's files minus the revenue
    it quarantined (monitoring.ingest_runs), and equals the raw lake's, to the cent. Duplicate deliveries carry
    no revenue, and a file a correction replaced (status replaced) none any more: its lines left the lake. Days
    landed before ingest recorded revenue (revenue_in null) have nothing to check against and are left out. A night checks the days it built (from rebuild_from() on), so its cost does not grow with the
    history; a --full-refresh build checks every day. -#}
{%- set first_day = none if flags.FULL_REFRESH else rebuild_from() -%}
with landed as (

    select
        business_date,
        sum(revenue_in) - sum(revenue_quarantined) as revenue,
        count(*) filter (where revenue_in is null) > 0 as landed_before_revenue_was_recorded
    from {{ source('monitoring', 'ingest_runs') }}
    where status = 'loaded'
        and business_date <= {{ run_date() }}
        {%- if first_day %} and business_date >= {{ first_day }}{% endif %}
    group by business_date

),

raw_lake as (

    select
        business_date,
        sum(revenue) as revenue
    from {{ ref('stg_raw__sales_lines') }}
    {%- if first_day %}
    where business_date >= {{ first_day }}
    {%- endif %}
    group by business_date

),

marts as (

    select
        business_date,
        sum(revenue) as revenue
    from {{ ref('fct_sales_lines') }}
    where business_date <= {{ run_date() }}
        {%- if first_day %} and business_date >= {{ first_day }}{% endif %}
    group by business_date

),

compared as (

    select
        coalesce(landed.business_date, raw_lake.business_date, marts.business_date) as business_date,
        coalesce(landed.revenue, 0) as landed_minus_quarantined_revenue,
        coalesce(raw_lake.revenue, 0) as raw_revenue,
        coalesce(marts.revenue, 0) as marts_revenue
    from landed
    full outer join raw_lake
        on landed.business_date = raw_lake.business_date
    full outer join marts
        on coalesce(landed.business_date, raw_lake.business_date) = marts.business_date

)

select * from compared
where business_date not in (select business_date from landed where landed_before_revenue_was_recorded)
    and (
        abs(marts_revenue - landed_minus_quarantined_revenue) >= 0.005
        or abs(marts_revenue - raw_revenue) >= 0.005
    )

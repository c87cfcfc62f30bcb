{#- Money. Amounts leave the models as decimal(18,2) (`type_money`); on the way they are integers, so sums are
    exact and independent of the order an engine adds in:

    - gateway amounts are integers of the currency's minor unit (cents, tiyin: 1/100 of the major unit);
    - monthly (MRR) amounts are integer micros of the major unit (1e-6 USD), rounded half away from zero from one
      double precision expression that is written identically for both engines, so both compute the same bits
      (each IEEE operation is correctly rounded) and round them the same way;
    - cents come from micros the same way, and decimals from cents by an exact multiplication.

    Decimal division is avoided on purpose: DuckDB returns DOUBLE for decimal / decimal, PostgreSQL NUMERIC, and
    PostgreSQL's round(double precision) rounds half to even where DuckDB rounds half away from zero. -#}

{% macro type_money() -%}
    numeric(18, 2)
{%- endmacro %}

{#- A double precision value rounded half away from zero to a whole number, as bigint. -#}
{% macro round_half_away(expr) -%}
    cast(sign({{ expr }}) * floor(abs({{ expr }}) + 0.5) as bigint)
{%- endmacro %}

{#- An integer of cents -> decimal(18,2), exactly. -#}
{% macro cents_to_money(cents) -%}
    cast(cast({{ cents }} as numeric(18, 0)) * 0.01 as {{ type_money() }})
{%- endmacro %}

{#- Integer micros of a major unit -> integer cents (half away from zero). -#}
{% macro micros_to_cents(micros) -%}
    {{ round_half_away('cast(' ~ micros ~ ' as ' ~ type_double() ~ ') / cast(10000 as ' ~ type_double() ~ ')') }}
{%- endmacro %}

{#- Minor units (an integer or a double precision count of cents/tiyin) -> integer micros of the major unit. -#}
{% macro minor_to_micros(minor) -%}
    {{ round_half_away('cast(' ~ minor ~ ' as ' ~ type_double() ~ ') * cast(10000 as ' ~ type_double() ~ ')') }}
{%- endmacro %}

{#- An amount in some currency times its USD rate, rounded to the same integer unit (cents -> USD cents,
    micros -> USD micros). -#}
{% macro to_usd_units(units, usd_per_unit) -%}
    {{ round_half_away('cast(' ~ units ~ ' as ' ~ type_double() ~ ') * cast(' ~ usd_per_unit ~ ' as ' ~ type_double() ~ ')') }}
{%- endmacro %}

{#- USD per unit of `currency`: 1 for USD itself, else the looked-up daily rate. -#}
{% macro usd_per_unit(currency, rate) -%}
    (case when {{ currency }} = 'USD' then cast(1 as {{ type_double() }}) else cast({{ rate }} as {{ type_double() }}) end)
{%- endmacro %}

{#- Months covered by one billing interval (Stripe price.recurring): month -> count, year -> 12 x count,
    week -> count x 12 / 52, day -> count x 12 / 365. Double precision. -#}
{% macro interval_months(interval, interval_count) -%}
    (case {{ interval }}
        when 'month' then cast({{ interval_count }} as {{ type_double() }})
        when 'year' then cast({{ interval_count }} as {{ type_double() }}) * cast(12 as {{ type_double() }})
        when 'week' then cast({{ interval_count }} as {{ type_double() }}) * cast(12 as {{ type_double() }}) / cast(52 as {{ type_double() }})
        when 'day' then cast({{ interval_count }} as {{ type_double() }}) * cast(12 as {{ type_double() }}) / cast(365 as {{ type_double() }})
    end)
{%- endmacro %}

{#- The instant the revenue marts report up to: the `revenue_as_of` var, else the newest payment-ledger row. -#}
{% macro revenue_as_of() -%}
    {%- if var('revenue_as_of', none) -%}
        cast('{{ var("revenue_as_of") }}' as timestamp)
    {%- else -%}
        (select max(occurred_at) from {{ ref('stg_payments__ledger') }})
    {%- endif -%}
{%- endmacro %}

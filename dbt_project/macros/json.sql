{#- JSON in the payment ledger. raw.payment_events.payload is TEXT; these macros let one model read it on both
    engines. Paths are dotted (`data.object.id`; a numeric segment is an array index: `items.data.0.price`).

    DuckDB keeps JSON as text and re-parses the document in every json_* call: twelve separate
    json_extract_string calls on a 4.6 kB subscription cost 7.1 s per 300k rows, one call with a list of twelve
    paths 0.6 s. So `json_fields` renders one list extraction per document, indexed per column; DuckDB's
    common-subexpression elimination evaluates the identical list call once per row. PostgreSQL parses into
    jsonb once and `#>>` reads the binary form. -#}

{#- The path in DuckDB's JSONPath form: `a.b.0` -> `$.a.b[0]`; '' is the document itself. -#}
{% macro _json_duckdb_path(path) -%}
    {%- set out = ['$'] -%}
    {%- for part in (path.split('.') if path else []) -%}
        {%- if part is number or part.isdigit() -%}{%- do out.append('[' ~ part ~ ']') -%}
        {%- else -%}{%- do out.append('.' ~ part) -%}{%- endif -%}
    {%- endfor -%}
    '{{ out | join('') }}'
{%- endmacro %}

{#- The path as a PostgreSQL text[] literal: `a.b.0` -> '{a,b,0}'. -#}
{% macro _json_postgres_path(path) -%}
    '{ {{- path.split('.') | join(',') if path else '' -}} }'
{%- endmacro %}

{#- Text -> a document the json_* macros read. PostgreSQL: jsonb, parsed once. DuckDB: the text itself. DuckDB's
    JSON functions take VARCHAR and parse it on each call anyway, and `cast(x as json)` is one more full parse
    (validation) per row and model: 42 s -> 36 s for the revenue models on 1.06M events with 4.3 kB Stripe
    bodies (2 cores) without it. Invalid JSON is an error on both engines either way; the ledger only holds
    JSON (a body that is not JSON is quarantined at the door). -#}
{% macro json_parse(text) -%}
    {{ return(adapter.dispatch('json_parse', 'analyticbot')(text)) }}
{%- endmacro %}

{% macro default__json_parse(text) -%}
    cast({{ text }} as jsonb)
{%- endmacro %}

{% macro duckdb__json_parse(text) -%}
    ({{ text }})
{%- endmacro %}

{#- The text at `path` (a JSON string without quotes, a number or boolean as written, NULL when missing or
    JSON null). -#}
{% macro json_text(doc, path) -%}
    {{ return(adapter.dispatch('json_text', 'analyticbot')(doc, path)) }}
{%- endmacro %}

{% macro default__json_text(doc, path) -%}
    ({{ doc }} #>> {{ _json_postgres_path(path) }})
{%- endmacro %}

{% macro duckdb__json_text(doc, path) -%}
    json_extract_string({{ doc }}, {{ _json_duckdb_path(path) }})
{%- endmacro %}

{#- The sub-document at `path` (NULL when missing). -#}
{% macro json_doc(doc, path) -%}
    {{ return(adapter.dispatch('json_doc', 'analyticbot')(doc, path)) }}
{%- endmacro %}

{% macro default__json_doc(doc, path) -%}
    ({{ doc }} #> {{ _json_postgres_path(path) }})
{%- endmacro %}

{% macro duckdb__json_doc(doc, path) -%}
    json_extract({{ doc }}, {{ _json_duckdb_path(path) }})
{%- endmacro %}

{#- Select-list columns `alias` = text at `path` for each entry of `fields` (a dict alias -> path, in order),
    reading the document once per row (see the top of this file). Paths are relative to `root` (a path, or ''
    for the document itself); a path of '' is the root's own text (for an object or array, its JSON). -#}
{% macro json_fields(doc, fields, root='') -%}
    {%- set rooted = {} -%}
    {%- for alias, path in fields.items() -%}
        {%- do rooted.update({alias: (root ~ ('.' if root and path else '') ~ path)}) -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('json_fields', 'analyticbot')(doc, rooted)) }}
{%- endmacro %}

{% macro default__json_fields(doc, fields) -%}
    {%- for alias, path in fields.items() %}
    {{ json_text(doc, path) }} as {{ alias }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__json_fields(doc, fields) -%}
    {%- set paths = [] -%}
    {%- for path in fields.values() -%}{%- do paths.append(_json_duckdb_path(path)) -%}{%- endfor -%}
    {%- for alias in fields.keys() %}
    json_extract_string({{ doc }}, [{{ paths | join(', ') }}])[{{ loop.index }}] as {{ alias }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A set-returning select-list expression: one row per element of the array at `path` (none when the path is
    missing, null or not an array). Use it in a select list: `select id, {{ json_array_elements(...) }} as x`. -#}
{% macro json_array_elements(doc, path) -%}
    {{ return(adapter.dispatch('json_array_elements', 'analyticbot')(doc, path)) }}
{%- endmacro %}

{% macro default__json_array_elements(doc, path) -%}
    jsonb_array_elements(case when jsonb_typeof({{ json_doc(doc, path) }}) = 'array' then {{ json_doc(doc, path) }} end)
{%- endmacro %}

{% macro duckdb__json_array_elements(doc, path) -%}
    unnest(json_extract({{ doc }}, '{{ _json_duckdb_path(path)[1:-1] }}[*]'))
{%- endmacro %}

{#- Gateway times. Stripe: seconds since the epoch; Payme: milliseconds, 0 = not yet (-> NULL). Naive UTC.
    DuckDB multiplies an interval by a 32-bit integer only (milliseconds since 1970 overflow it), so it builds
    the timestamp from microseconds instead. -#}
{% macro timestamp_from_epoch_seconds(seconds) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_micros', 'analyticbot')('cast(' ~ seconds ~ ' as bigint) * 1000000')) }}
{%- endmacro %}

{% macro timestamp_from_epoch_millis(millis) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_micros', 'analyticbot')('nullif(cast(' ~ millis ~ ' as bigint), 0) * 1000')) }}
{%- endmacro %}

{% macro default__timestamp_from_epoch_micros(micros) -%}
    (cast('1970-01-01' as timestamp) + ({{ micros }}) * interval '1 microsecond')
{%- endmacro %}

{% macro duckdb__timestamp_from_epoch_micros(micros) -%}
    make_timestamp({{ micros }})
{%- endmacro %}

{#- ISO 8601 UTC text (`2025-03-01T10:00:00Z`, `...+00:00`, fractions kept) -> naive UTC timestamp. -#}
{% macro iso_utc_timestamp(text) -%}
    cast(replace(replace(replace({{ text }}, 'T', ' '), 'Z', ''), '+00:00', '') as timestamp)
{%- endmacro %}

{#- Custom schema names are used verbatim (staging, intermediate, marts): the warehouse layout in DESIGN.md has
    fixed schema names that readers and the publish step rely on, so no target-name prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

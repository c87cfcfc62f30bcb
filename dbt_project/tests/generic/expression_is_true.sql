{#- Every row satisfies a boolean SQL expression; rows where it is false are failures (NULL counts as passing,
    so "where known" checks read naturally). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}

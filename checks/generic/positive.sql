-- A custom generic check, usable in YAML like the built-ins: `- positive`.
{% test positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}

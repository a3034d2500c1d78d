{% test expression_is_true(model, expression, column_name=None) %}
select * from {{ model }} where not ({{ column_name ~ ' ' if column_name else '' }}{{ expression }})
{% endtest %}

{% test at_least(model, min_rows, options={}) %}
select 1 from (select count(*) as n from {{ model }}) as counted where n < {{ min_rows }}
{% endtest %}

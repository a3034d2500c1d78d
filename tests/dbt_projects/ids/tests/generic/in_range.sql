{% test in_range(model, column_name, low, high, inclusive=true) %}
select * from {{ model }}
where {{ column_name }} < {{ low }} or {{ column_name }} > {{ high }}
{% endtest %}

{% test has_rows(model) %}
select 1 from (select count(*) as n from {{ model }}) as counted where n = 0
{% endtest %}

{#- Private helpers: their names start with `_`, and other files of the package call them
    as shop_utils._name (dbt_utils's _is_relation and _is_ephemeral are called so). -#}

{% macro _must_be_relation(obj, caller_name) %}
    {%- set kind = obj.get('metadata', {}).get('type', '') if obj is mapping else '' -%}
    {%- if not kind.endswith('Relation') -%}
        {%- do exceptions.raise_compiler_error(caller_name ~ " needs a relation, got: " ~ obj) -%}
    {%- endif -%}
{% endmacro %}

{% macro _must_not_be_ephemeral(obj, caller_name) %}
    {%- if obj.is_cte -%}
        {%- set prefix = api.Relation.add_ephemeral_prefix('') -%}
        {%- set shown = obj.name[prefix | length:] if obj.name.startswith(prefix) else obj.name -%}
        {%- do exceptions.raise_compiler_error(caller_name ~ " cannot read the ephemeral model " ~ shown) -%}
    {%- endif -%}
{% endmacro %}

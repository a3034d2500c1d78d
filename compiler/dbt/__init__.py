"""The dbt front end: a dbt project (``dbt_project.yml``) read into teal's ``Project``.

- settings.py: dbt_project.yml, profiles.yml and installed packages -> ProjectConfig
- context.py: the Jinja context (macros, dispatch, adapter, run_query, ...)
- builtins.py: dbt's built-in macros as teal provides them (DuckDB SQL)
- loader.py: files -> nodes -> config -> relations -> compiled Models
- seeds.py, snapshots.py: CSV seeds and SCD2 snapshots as queries teal materializes
- tests.py, unit_tests.py: dbt tests as teal checks

Nothing downstream (plan, executor, warehouse) knows the project came from dbt.
"""

from teal.compiler.dbt.settings import is_dbt_project

__all__ = ["is_dbt_project"]

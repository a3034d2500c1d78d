"""teal.Resource / teal.Config fields, the .env parser, and resources and run config through
the Python API (teal.materialize, teal.build_context, teal.build)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import teal
from teal.compiler.errors import SelectionError
from teal.compiler.typed_fields import FieldError
from teal.runtime.resources import Redactor, parse_dotenv_line, read_dotenv
from tests.conftest import query, run_teal, write_project


class Nested(teal.Config):
    label: str = "x"


class Settings(teal.Config):
    days: int
    rate: Decimal = Decimal("0.5")
    since: dt.date | None = None
    mode: Literal["fast", "full"] = "fast"
    cities: list[str] = []
    inner: Nested = Nested()


def test_config_fields_are_checked_and_converted():
    s = Settings(days=3, rate="1.25", since="2026-01-02", cities=["a"], inner={"label": "y"})
    assert (s.days, s.rate, s.since, s.inner.label) == (
        3,
        Decimal("1.25"),
        dt.date(2026, 1, 2),
        "y",
    )
    assert Settings(days=1).cities == [] and Settings(days=1).cities is not Settings.cities
    assert s.to_json() == {
        "days": 3,
        "rate": "1.25",
        "since": "2026-01-02",
        "mode": "fast",
        "cities": ["a"],
        "inner": {"label": "y"},
    }
    with pytest.raises(FieldError, match="days: .*needs a value for 'days'"):
        Settings()
    with pytest.raises(FieldError, match="expected int, got True"):
        Settings(days=True)
    with pytest.raises(FieldError, match="must be one of 'fast', 'full'"):
        Settings(days=1, mode="slow")
    with pytest.raises(FieldError) as info:
        Settings(days=1, inner={"lable": "z"})
    assert info.value.field == "inner.lable" and info.value.hint == "did you mean 'label'?"
    with pytest.raises(FieldError, match=r"cities\[1\]: expected str, got 2"):
        Settings(days=1, cities=["a", 2])
    with pytest.raises(AttributeError, match="read-only"):
        s.days = 4  # type: ignore[misc]
    with pytest.raises(FieldError, match="can only give a resource's"):
        Settings(days=teal.EnvVar("DAYS"))


def test_a_fixed_tuple_checks_each_item_against_its_own_type():
    class Pair(teal.Config):
        pair: tuple[int, str] = (1, "a")
        many: tuple[int, ...] = ()

    assert Pair().pair == (1, "a") and Pair(pair=[2, "b"], many=[3, 4]).many == (3, 4)
    with pytest.raises(FieldError, match=r"pair\[1\]: expected str, got 3"):
        Pair(pair=[2, 3])
    with pytest.raises(FieldError, match="pair: must have 2 items, got 1"):
        Pair(pair=[2])


class Api(teal.Resource):
    token: str
    timeout: float = 5.0
    opened: int = 0

    def setup(self) -> None:
        self._calls = []  # private names can be set: a resource's own client objects

    def teardown(self) -> None:
        TEARDOWNS.append(self.token)


TEARDOWNS: list[str] = []


def test_a_resource_shows_envvars_never_their_values():
    api = Api(token=teal.EnvVar("API_TOKEN"))
    assert repr(api) == "Api(token=\"EnvVar('API_TOKEN')\", timeout=5.0, opened=0)"


@pytest.mark.slow
@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    value=st.text(
        alphabet=st.characters(blacklist_characters='"\\\n\r', blacklist_categories=("Cs",)),
        max_size=30,
    ),
    export=st.booleans(),
)
def test_dotenv_lines_round_trip(name: str, value: str, export: bool):
    line = f'{"export " if export else ""}{name}="{value}"  # comment'
    assert parse_dotenv_line(line) == (name, value)
    plain = value.strip()
    if plain and "#" not in plain and not plain.startswith(("'", '"')):
        assert parse_dotenv_line(f"{name}={plain}") == (name, plain)


def test_a_bad_dotenv_line_is_located(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text("A=1\n\n# note\nB='two words'\nthis is not a line\n")
    with pytest.raises(teal.ProjectError) as info:
        read_dotenv(env)
    assert str(info.value).startswith(".env:5:1: not a NAME=value line")
    env.write_text("A=1\nB='two words'\n")
    assert read_dotenv(env) == {"A": "1", "B": "two words"}


SECRET_CHARS = "bcdfghjklmpqst"  # none of them is in the EnvVar('V0') put in their place


@given(
    st.lists(st.text(alphabet=SECRET_CHARS, min_size=4, max_size=12), min_size=1, max_size=3),
    st.text(alphabet=SECRET_CHARS + " -_:", max_size=20),
)
def test_redaction_removes_every_secret(secrets: list[str], noise: str):
    redact = Redactor()
    for i, secret in enumerate(secrets):
        redact.add(f"V{i}", secret)
    out = redact(noise + noise.join(secrets) + noise)
    assert not any(secret in out for secret in secrets)
    assert "EnvVar('V" in out


def test_short_values_are_not_secrets():
    redact = Redactor()
    redact.add("FLAG", "on")
    assert not redact and redact("turned on") == "turned on"


@teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")
def readings(context: teal.AssetContext, api: Api, config: Settings) -> pa.Table:
    day = context.partition_window[0].date()
    context.log.info("reading with %s", api.token)
    return pa.Table.from_pylist(
        [{"day": day, "n": i, "rate": config.rate} for i in range(config.days)]
    )


@teal.asset_check(asset="readings")
def readings_not_empty(readings, api: Api) -> teal.CheckResult:
    return teal.CheckResult(passed=readings.num_rows > 0, description=f"token {api.token}")


def test_materialize_with_resources_config_and_a_partition(monkeypatch: pytest.MonkeyPatch):
    TEARDOWNS.clear()
    monkeypatch.setenv("READINGS_TOKEN", "r34d1ngs-token")
    result = teal.materialize(
        [readings, readings_not_empty],
        resources={"api": Api(token=teal.EnvVar("READINGS_TOKEN"))},
        config={"readings": {"days": 2, "rate": "0.25"}},
        partition="2026-01-05",
    )
    assert result.success
    rows = result.output_for(readings).to_pylist()
    assert rows == [
        {"day": dt.date(2026, 1, 5), "n": 0, "rate": Decimal("0.25")},
        {"day": dt.date(2026, 1, 5), "n": 1, "rate": Decimal("0.25")},
    ]
    check = result.check_result(readings_not_empty)
    assert check.status == "pass" and check.message == "token EnvVar('READINGS_TOKEN')"
    assert TEARDOWNS == ["r34d1ngs-token"]  # torn down once, after the run

    with pytest.raises(SelectionError, match="field 'days': .*needs a value"):
        teal.materialize([readings], resources={"api": Api(token="t")}, partition="2026-01-05")
    monkeypatch.delenv("READINGS_TOKEN")
    with pytest.raises(teal.ProjectError, match="environment variable READINGS_TOKEN is not set"):
        teal.materialize(
            [readings],
            resources={"api": Api(token=teal.EnvVar("READINGS_TOKEN"))},
            config={"readings": {"days": 1}},
            partition="2026-01-05",
        )


def test_materialize_says_which_item_is_not_an_asset():
    def plain() -> None: ...

    with pytest.raises(
        SelectionError, match=r"assets\[1\] is <function .*plain.*, not a teal asset"
    ):
        teal.materialize([readings, plain])


def test_build_context_gives_resources_and_config():
    ctx = teal.build_context(
        readings,
        partition_key="2026-01-03",
        resources={"api": Api(token="t")},
        config=Settings(days=1),
    )
    assert ctx.resources.api.token == "t" and ctx.config.days == 1
    table = readings(ctx, api=ctx.resources.api, config=ctx.config)
    assert table.to_pylist()[0]["day"] == dt.date(2026, 1, 3)
    with pytest.raises(AttributeError, match=r"no resource 'db' in this run \(resources: api\)"):
        ctx.resources.db  # noqa: B018


def test_teal_build_takes_config_and_resource_instances(tmp_path: Path):
    root = write_project(
        tmp_path / "p",
        {
            "models/greeting.py": """
            import pyarrow as pa

            import teal

            class Words(teal.Config):
                word: str = "hello"

            @teal.asset
            def greeting(greeter, config: Words) -> pa.Table:
                return pa.table({"text": [f"{config.word}, {greeter.name}"]})
            """,
        },
        '[resources.greeter]\nclass = "greeter.py:Greeter"\nname = "file"\n',
    )
    (root / "greeter.py").write_text(
        "import teal\n\nclass Greeter(teal.Resource):\n    name: str\n"
    )
    assert teal.build(root).success
    assert query(root / "warehouse.duckdb", "select text from greeting") == [("hello, file",)]

    class Other(teal.Resource):
        name: str

    result = teal.build(
        root, config={"greeting": {"word": "hi"}}, resources={"greeter": Other(name="api")}
    )
    assert result.success
    assert query(root / "warehouse.duckdb", "select text from greeting") == [("hi, api",)]
    runs = teal.runs(root, limit=1)
    assert runs[0].config["run_config"] == {"greeting": {"word": "hi"}}


def test_a_missing_variable_is_located_at_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An EnvVar field of a resource in teal.toml that is not set: the message points at
    the field's line, not the resource's table."""
    monkeypatch.delenv("GREETER_NAME", raising=False)
    root = write_project(
        tmp_path / "p",
        {
            "models/greeting.py": """
            import pyarrow as pa

            import teal

            @teal.asset
            def greeting(greeter) -> pa.Table:
                return pa.table({"text": [greeter.name]})
            """,
        },
        '[resources.greeter]\nclass = "greeter.py:Greeter"\n\nname = { env = "GREETER_NAME" }\n',
    )
    (root / "greeter.py").write_text(
        "import teal\n\nclass Greeter(teal.Resource):\n    name: str\n"
    )
    with pytest.raises(teal.ProjectError) as raised:
        teal.build(root)
    error = raised.value
    assert "environment variable GREETER_NAME is not set" in str(error)
    config = (root / "teal.toml").read_text().splitlines()
    assert config[error.line - 1] == 'name = { env = "GREETER_NAME" }'


@pytest.mark.slow
def test_run_config_is_checked_when_nothing_is_built_and_unused_entries_are_warned(
    tmp_path: Path,
):
    root = write_project(
        tmp_path / "p",
        {
            "models/a.sql": "select 1 as id",
            "models/events.py": """
            import pyarrow as pa
            import teal

            class Settings(teal.Config):
                n: int = 1

            @teal.asset
            def events(config: Settings) -> pa.Table:
                return pa.table({"n": [config.n]})
            """,
        },
    )
    assert run_teal("build", cwd=root).returncode == 0
    bad = run_teal(
        "build", "-s", "a", "--changed-only", "--config-json", '{"events": {"n": "x"}}', cwd=root
    )
    assert bad.returncode == 2, bad.output  # nothing to build: still checked
    assert "run config of model 'events', field 'n'" in bad.stderr
    unused = run_teal("build", "-s", "a", "--config-json", '{"events": {"n": 2}}', cwd=root)
    assert unused.returncode == 0, unused.output
    assert "run config for 'events', which this run does not build: it is not used" in (
        unused.stderr
    )


def test_a_model_imports_the_projects_own_module_and_a_resource_binds_by_its_name(
    tmp_path: Path,
):
    """`from weather_api import WeatherApi` in a model file works however teal was started
    (the project folder is importable, as with `python -m`); the parameter annotated with
    the class takes the resource of its name, and one of another name is a located error."""
    root = write_project(
        tmp_path / "p",
        {
            "weather_api.py": """
            import teal

            class WeatherApi(teal.Resource):
                city: str
            """,
            "models/forecast.py": """
            import pyarrow as pa
            import teal
            from weather_api import WeatherApi

            @teal.asset
            def forecast(weather: WeatherApi) -> pa.Table:
                return pa.table({"city": [weather.city]})
            """,
        },
        'name = "p"\n[resources.weather]\nclass = "weather_api.py:WeatherApi"\ncity = "Lisbon"\n',
    )
    assert teal.build(root).success  # in this process: its folder is not the project's
    assert query(root / "warehouse.duckdb", "select city from forecast") == [("Lisbon",)]
    model = root / "models" / "forecast.py"
    model.write_text(
        model.read_text().replace("weather:", "client:").replace("weather.", "client.")
    )
    with pytest.raises(SelectionError, match="parameter 'client' of forecast takes the resource"):
        teal.build(root)


def test_a_parameter_naming_no_resource_says_which_resources_there_are(tmp_path: Path):
    """A resource renamed in teal.toml: the asset's parameter is neither a model nor a
    resource, and the message says so, with the resource it probably means."""
    root = write_project(
        tmp_path / "p",
        {
            "models/greeting.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def greeting(greeter) -> pa.Table:
                return pa.table({"text": [greeter.name]})
            """,
        },
        '[resources.greeterr]\nclass = "greeter.py:Greeter"\nname = "file"\n',
    )
    (root / "greeter.py").write_text(
        "import teal\n\nclass Greeter(teal.Resource):\n    name: str\n"
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert (
        "parameter 'greeter' of asset 'greeting' is not a model, a declared source or a resource"
        in done.stderr
    )
    assert "did you mean 'greeterr'?" in done.stderr and "Traceback" not in done.output
    (root / "teal.toml").write_text('name = "p"\n')
    bare = run_teal("build", cwd=root)
    assert bare.returncode == 2, bare.output
    assert "declared under [resources.greeter] in teal.toml" in bare.stderr
    assert "resources={'greeter': ...}" in bare.stderr

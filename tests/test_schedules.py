"""Schedule definitions and their tick arithmetic: cron in a time zone, DST-correct, month
ends; located errors for bad definitions."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.automation import Schedule, Target, next_ticks, ticks_between
from teal.compiler.config import load_config
from tests.conftest import run_teal


def schedule(cron: str, tz: str = "UTC") -> Schedule:
    return Schedule(name="s", cron=cron, target=Target(), timezone=tz)


def local(ticks: list[datetime], tz: str) -> list[str]:
    from zoneinfo import ZoneInfo

    return [t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") for t in ticks]


def test_a_wall_time_skipped_by_spring_forward_runs_at_the_next_valid_time():
    daily = schedule("30 2 * * *", "Europe/Berlin")
    ticks = ticks_between(
        daily, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    )
    assert local(ticks, "Europe/Berlin") == [
        "2026-03-28 02:30 CET",
        "2026-03-29 03:00 CEST",  # 02:30 does not exist that night
        "2026-03-30 02:30 CEST",
    ]


def test_a_wall_time_repeated_by_fall_back_runs_once_but_every_real_hour_ticks():
    daily = schedule("30 2 * * *", "Europe/Berlin")
    start, end = datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC)
    assert local(ticks_between(daily, start, end), "Europe/Berlin") == [
        "2026-10-25 02:30 CEST",
        "2026-10-26 02:30 CET",
    ]
    # from the first 02:30 on, the next tick is the next day's (hypothesis found this)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local(next_ticks(daily, first, 1), "Europe/Berlin") == ["2026-10-26 02:30 CET"]
    hourly = schedule("0 * * * *", "Europe/Berlin")
    night = ticks_between(
        hourly, datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC)
    )
    assert local(night, "Europe/Berlin") == [  # after 01:00 CEST, up to 03:00 CET
        "2026-10-25 02:00 CEST",
        "2026-10-25 02:00 CET",  # the same wall time, an hour later
        "2026-10-25 03:00 CET",
    ]


def test_month_ends():
    last_day = schedule("0 6 L * *")
    assert [
        t.date().isoformat() for t in next_ticks(last_day, datetime(2026, 1, 1, tzinfo=UTC), 3)
    ] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
    ]
    the_31st = schedule("0 0 31 * *")
    assert [t.month for t in next_ticks(the_31st, datetime(2026, 1, 31, tzinfo=UTC), 3)] == [
        3,
        5,
        7,
    ]


CRONS = ["*/15 * * * *", "0 * * * *", "30 2 * * *", "0 0 L * *", "5 4 * * 1-5", "0 */6 * * *"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    start=MOMENTS,
    first=st.integers(0, 96 * 3600),
    second=st.integers(0, 96 * 3600),
)
def test_ticks_are_increasing_in_range_and_split_at_any_point(cron, zone, start, first, second):
    s = schedule(cron, zone)
    middle = start + timedelta(seconds=first)
    end = middle + timedelta(seconds=second)
    whole = ticks_between(s, start, end)
    assert whole == sorted(set(whole))  # strictly increasing, none twice
    assert all(start < t <= end for t in whole)
    assert whole == ticks_between(s, start, middle) + ticks_between(s, middle, end)
    if len(whole) > 1:  # the next tick after a tick is the following one
        assert next_ticks(s, whole[0], 1) == whole[1:2]


def test_a_mistake_is_located_in_its_own_table_and_line(tmp_path):
    """A job and the schedule that runs it share a name: a schedule's mistake points at
    the schedule's line, not at the job's table (the first header with that name)."""
    from teal.compiler.errors import ProjectError

    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text(
        'name = "p"\n\n[jobs.nightly]\nselect = "a"\n\n'
        '[schedules.nightly]\njob = "nightly"\ncron = "0 3 * * *"\ntimezone = "Europe/Berln"\n'
    )
    with pytest.raises(ProjectError) as caught:
        load_config(tmp_path).automation  # noqa: B018 (what the daemon reads)
    assert "timezone 'Europe/Berln' is not a time zone" in caught.value.message
    assert caught.value.line == 9


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config_file", "text", "spot", "header"),
    [
        ("teal.toml", 'name = "p"\n', "teal.toml:4:7:", "[jobs.<name>]"),
        (
            "pyproject.toml",
            '[project]\nname = "p"\n\n[tool.teal]\nname = "p"\n',
            "pyproject.toml:8:7:",
            "[tool.teal.jobs.<name>]",
        ),
    ],
)
def test_an_undeclared_job_is_located_at_its_name_with_the_table_of_this_file(
    tmp_path, config_file, text, spot, header
):
    """The hint names the job's table as this project file writes it, and the error
    points at the job's name, not at the start of its line."""
    (tmp_path / "models").mkdir()
    table = "tool.teal.schedules.s" if config_file == "pyproject.toml" else "schedules.s"
    (tmp_path / config_file).write_text(f'{text}\n[{table}]\njob = "zzz"\ncron = "0 3 * * *"\n')
    done = run_teal("validate", cwd=tmp_path)
    assert done.returncode == 2, done.output
    assert f"{spot} schedules.s runs job 'zzz', which is not declared" in done.stderr
    assert '    job = "zzz"\n          ^\n' in done.stderr
    assert f"hint: declare it under {header}" in done.stderr
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[schedules.s]\ncron = "every day"\n',
            "schedules.s.cron 'every day' is not a cron expression",
        ),
        ('[schedules.s]\ncron = "0 3 * * *"\ntimezone = "Mars/Base"\n', "is not a time zone"),
        (
            '[schedules.s]\ncron = "0 3 * * *"\njob = "nightly"\n',
            "runs job 'nightly', which is not declared",
        ),
        ('[schedules.s]\ncron = "0 3 * * *"\ncatchup = "everything"\n', "catchup must be one of"),
        ('[schedules.s]\ncron = "0 3 * * *"\ncronn = 1\n', "unknown key 'cronn' in schedules.s"),
        ('[jobs.j]\nselects = "a"\n', "unknown key 'selects' in jobs.j"),
        ('[sensors.f]\nselect = "a"\n', "sensors.f must watch one thing"),
        ('[sensors.f]\nfiles = "x/*"\nasset = "a"\n', "sensors.f must watch one thing"),
        ('[sensors.f]\nrun_status = "failure"\n', "sensors.f needs webhook_env"),
        ('[sensors.f]\nrun_status = "broken"\nwebhook_env = "U"\n', "must be failure or success"),
        (
            '[sensors.f]\nrun_status = "failure"\nwebhook_env = "U"\nselect = "a"\n',
            "it runs nothing itself",
        ),
        ('[sensors.f]\nfiles = "x/*"\npartition_from = "no group"\n', "partition_from must be"),
        ('[schedules.s]\ncron = "0 3 31 2 *"\n', "'0 3 31 2 *' never fires"),
        ('[jobs.j]\nfull_refresh = "false"\n', "jobs.j.full_refresh must be true or false"),
        ('[schedules.s]\ncron = "0 3 * * *"\nenabled = "no"\n', "enabled must be true or false"),
        ('[sensors.f]\nfiles = "x/*"\nenabled = "off"\n', "sensors.f.enabled must be true or"),
        ('[sensors.f]\nfiles = "x/*"\nremember_for = "soon"\n', "remember_for must be a"),
        ('[sensors.f]\nasset = "a"\nremember_for = "1d"\n', "(file sensors only)"),
        ("[daemon]\npurge = 3\n", "unknown key 'purge' in daemon"),
        (
            "[daemon.tick_retention]\nskiped = 3\n",
            "unknown key 'skiped' in daemon.tick_retention",
        ),
        (
            "[daemon.tick_retention]\nskipped = 0\n",
            "daemon.tick_retention.skipped must be a whole number of days (1 or more)",
        ),
        ('[daemon]\ntick_retention = "7d"\n', "daemon.tick_retention must be a table"),
    ],
)
def test_bad_definitions_are_located_errors(tmp_path, toml, message):
    from teal.compiler.errors import ProjectError

    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text(toml)
    with pytest.raises(ProjectError) as caught:
        load_config(tmp_path).automation  # noqa: B018 (what the daemon reads)
    assert message in caught.value.message
    assert caught.value.path == "teal.toml" and caught.value.line is not None


def test_tick_retention_defaults_and_settings(tmp_path):
    """Skipped ticks go after a week, failed ones after a month, those that queued a run
    after 90 days (as long as run history); each can be changed, or kept forever."""
    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text('name = "p"\n')
    default = load_config(tmp_path).automation.daemon.tick_retention
    assert default.describe() == "skipped 7 days, failed 30 days, requested 90 days"
    (tmp_path / "teal.toml").write_text(
        '[daemon.tick_retention]\nskipped = 1\nrequested = "forever"\n'
    )
    chosen = load_config(tmp_path).automation.daemon.tick_retention
    assert chosen.describe() == "skipped 1 day, failed 30 days, requested forever"


@pytest.mark.slow
def test_a_mistake_in_the_daemons_settings_stops_the_daemon_but_builds_warn(tmp_path):
    from tests.conftest import run_teal, write_project

    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x"},
        'name = "p"\n[daemon.tick_retention]\nskiped = 3\n',
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "warning: teal.toml:3:1: unknown key 'skiped' in daemon.tick_retention" in built.stderr
    refused = run_teal("daemon", "--once", cwd=root)
    assert refused.returncode == 2, refused.output
    assert "teal.toml:3:1: unknown key 'skiped' in daemon.tick_retention" in refused.stderr
    assert "did you mean 'skipped'" in refused.stderr


@pytest.mark.slow
def test_a_broken_schedule_stops_the_daemon_and_its_commands_but_not_builds(tmp_path):
    """A mistake in one schedule: `teal schedules`, `--job` and the daemon refuse (exit 2,
    located); a build, and a queued run's launch, run and warn."""
    from tests.conftest import run_teal, write_project

    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x"},
        'name = "p"\n[jobs.nightly]\nselect = "a"\n'
        '[schedules.nightly]\njob = "nightly"\ncron = "15 0 * *"\n',
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "warning: teal.toml:6:1: schedules.nightly.cron '15 0 * *' is not a cron" in built.stderr
    assert "cannot be used until it is fixed" in built.stderr
    for args in (
        ("schedules",),
        ("build", "--job", "nightly"),
        ("daemon", "--once"),
        ("validate",),
    ):
        refused = run_teal(*args, cwd=root)
        assert refused.returncode == 2, (args, refused.output)
        assert "teal.toml:6:1: schedules.nightly.cron" in refused.stderr
        assert refused.stderr.count("is not a cron") == 1, (args, refused.stderr)  # said once
        assert "Traceback" not in refused.output
    strict = run_teal("--strict", "build", cwd=root)
    assert strict.returncode == 2, strict.output


def test_a_run_request_takes_one_string_as_one_selection_or_one_key():
    """RunRequest(select="events") is the model events, not the selectors e, v, e, n, t, s."""
    import teal

    request = teal.RunRequest(select="orders+ tag:daily", partitions="2026-03-01")
    assert request.select == ("orders+", "tag:daily") and request.partitions == ("2026-03-01",)
    assert teal.RunRequest(exclude="audit").exclude == ("audit",)
    assert teal.RunRequest(add_partitions={"regions": "north"}).add_partitions == {
        "regions": ("north",)
    }


MONTHLY_BY_REGION = """
{{ config(materialized='incremental', partitioned_by={
    'month': {'type': 'monthly', 'start': '2025-01-01'},
    'region': ['east', 'west'],
}, partition_column={'month': 'month', 'region': 'region'}) }}
select '{{ partition.region }}' as region, cast('{{ partition.start }}' as date) as month
"""


def test_a_closed_partition_of_a_model_with_a_second_dimension_is_every_key_of_the_window(
    tmp_path,
):
    """A closed-partition schedule on month x region builds the whole month that closed,
    every region of it (not one key of it); partition_offset = 1 is the month before."""
    from teal.runtime.closed_partitions import partition_finder

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "by_region.sql").write_text(MONTHLY_BY_REGION)
    (tmp_path / "teal.toml").write_text(
        'name = "p"\n[schedules.monthly]\nselect = "by_region"\ncron = "0 2 1 * *"\n'
        'partition = "closed"\n[schedules.before]\nselect = "by_region"\ncron = "0 2 1 * *"\n'
        'partition = "closed"\npartition_offset = 1\n'
    )
    config = load_config(tmp_path)
    find = partition_finder(config)
    tick = datetime(2025, 6, 1, 2, 0)
    monthly, before = config.automation.schedules["monthly"], config.automation.schedules["before"]
    assert find(monthly.target, monthly, tick) == ("2025-05|east", "2025-05|west")
    assert find(before.target, before, tick) == ("2025-04|east", "2025-04|west")


def test_a_closed_partition_schedule_past_the_definitions_end_skips_its_ticks(tmp_path):
    """The last day closes at the definition's end; the ticks after it build nothing and
    are skipped, not the last day again and again; with end_offset the day still open is
    not the one that closed."""
    from teal.runtime.closed_partitions import NoPartitionClosed, partition_finder

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "days.sql").write_text(
        "{{ config(materialized='incremental', partitioned_by={'daily': "
        "{'start': '2025-01-01', 'end': '2025-02-05', 'end_offset': 1}}, "
        "partition_column='day') }}\nselect cast('{{ partition.start }}' as date) as day\n"
    )
    (tmp_path / "teal.toml").write_text(
        'name = "p"\n[schedules.s]\nselect = "days"\ncron = "0 2 * * *"\npartition = "closed"\n'
    )
    config = load_config(tmp_path)
    find = partition_finder(config)
    schedule = config.automation.schedules["s"]
    assert find(schedule.target, schedule, datetime(2025, 1, 20, 2, 0)) == ("2025-01-19",)
    assert find(schedule.target, schedule, datetime(2025, 2, 5, 2, 0)) == ("2025-02-04",)
    with pytest.raises(NoPartitionClosed) as past:
        find(schedule.target, schedule, datetime(2025, 2, 6, 2, 0))
    assert "its partitions end with 2025-02-04" in past.value.message


@pytest.mark.slow
def test_what_automation_names_is_checked_against_the_project(tmp_path):
    """A selection that matches no model, an asset sensor's missing model, a closed
    partition with nothing partitioned, a job's partition no selected model has: errors
    from `teal validate` and the listings, not a run failing at a tick."""
    import subprocess
    import sys

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "users.sql").write_text("select 1 as id")
    (tmp_path / "teal.toml").write_text(
        'name = "p"\n'
        '[jobs.j]\nselect = "userz"\n'
        '[jobs.k]\nselect = "users"\npartitions = ["2025-01-01"]\n'
        '[schedules.s]\nselect = "users"\ncron = "0 3 * * *"\npartition = "closed"\n'
        '[sensors.a]\nasset = "usrs"\nselect = "users"\n'
        '[sensors.b]\nfiles = "x/*"\nselect = "users"\nexclude = "userz"\n'
    )
    (tmp_path / "sensors").mkdir()
    (tmp_path / "sensors" / "api.py").write_text(
        "import teal\n\n\n@teal.sensor(job='nightly')\ndef api(context):\n    return None\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for command in (["validate"], ["jobs"], ["schedules"], ["sensors"]):
        done = subprocess.run(
            [sys.executable, "-m", "teal.cli", *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        # an error for validate; a warning for the listings (and the daemon), which a
        # model being edited must not stop
        assert done.returncode == (2 if command == ["validate"] else 0), (command, done.stderr)
        err = done.stderr
        # each at the line of the key that is wrong
        assert "teal.toml:3:1: jobs.j selects 'userz' matches no model" in err, err
        assert "hint: did you mean 'users'?" in err
        assert "teal.toml:6:1: jobs.k partitions: partition keys were given, but no selected" in err
        assert "teal.toml:10:1: schedules.s builds the partition that closed" in err
        assert "teal.toml:12:1: sensors.a watches 'usrs', which is not a model" in err
        assert "teal.toml:17:1: sensors.b selects 'userz' matches no model" in err  # its line
        assert "sensors/api.py:4:1: sensor api runs job 'nightly', which is not declared" in err


@pytest.mark.slow
def test_a_jobs_selection_mistake_is_located_in_teal_toml_when_run(tmp_path):
    """`teal build --job` and `teal plan --job` say a job's misspelt selection where it is
    written (as `teal validate` does), not as a `--select` the user never typed; an
    `--exclude` given beside the job stays the flag's."""
    from tests.conftest import run_teal, write_project

    root = write_project(
        tmp_path / "p",
        {"models/marts.sql": "select 1 as x"},
        'name = "p"\n\n[jobs.nightly]\nselect = "mart+"\n',
    )
    for args in (("build", "--job", "nightly"), ("plan", "--job", "nightly"), ("validate",)):
        done = run_teal(*args, cwd=root)
        assert done.returncode == 2, (args, done.output)
        assert "teal.toml:4:1: jobs.nightly selects 'mart' matches no model" in done.stderr, args
        assert "did you mean 'marts'?" in done.stderr and "--select" not in done.stderr
    (root / "teal.toml").write_text('name = "p"\n\n[jobs.nightly]\nselect = "marts+"\n')
    done = run_teal("build", "--job", "nightly", "--exclude", "nope", cwd=root)
    assert done.returncode == 2, done.output
    assert "--exclude: 'nope' matches no model" in done.stderr, done.stderr


@pytest.mark.slow
def test_the_daemon_refuses_vars_and_says_where_a_job_takes_them(tmp_path):
    from tests.conftest import run_teal, write_project

    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"}, 'name = "p"\n')
    done = run_teal("daemon", "--once", "--vars", "{a: 1}", cwd=root)
    assert done.returncode == 2, done.output
    assert "--vars: the daemon runs the project as configured" in done.stderr, done.stderr
    assert "[jobs.<name>] in teal.toml" in done.stderr and "Traceback" not in done.output

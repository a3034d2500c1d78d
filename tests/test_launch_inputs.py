"""What a launch is given as text (the command line's --vars and --config, the UI's vars
and run config boxes) and what a job asks for: one reading each, located mistakes."""

from __future__ import annotations

import pytest

from teal.compiler.automation import Job
from teal.compiler.config import parse_vars
from teal.compiler.errors import TealError
from teal.runtime.launch import job_request
from teal.runtime.run_config import run_config_text


def test_vars_are_yaml_or_json_and_a_mistake_is_located_at_its_line():
    assert parse_vars("{currency: USD, n: 2}") == {"currency": "USD", "n": 2}
    assert parse_vars('{"currency": "USD"}', path="vars") == {"currency": "USD"}
    assert parse_vars("  \n", path="vars") is None
    with pytest.raises(TealError, match="not valid YAML/JSON") as bad:
        parse_vars("currency: USD\nn: a: b\nm: 1\n", path="vars")
    assert bad.value.location == "vars:2:5"
    with pytest.raises(TealError, match="must be a mapping of names to values, got list"):
        parse_vars("[1, 2]", path="vars")
    with pytest.raises(TealError) as one_line:  # the command line's: no line to name
        parse_vars("{a: [", path="--vars")
    assert one_line.value.location.startswith("--vars") and one_line.value.line is None


def test_run_config_text_locates_each_model_and_field():
    found = run_config_text("customer_segments:\n  at_risk_days: 90\n", "run config")
    assert found is not None and found.values == {"customer_segments": {"at_risk_days": 90}}
    assert found.at("customer_segments.at_risk_days") == (2, 17)
    assert found.at("customer_segments") == (1, 1)
    as_json = run_config_text('{"customer_segments": {"at_risk_days": 90}}', "run config")
    assert as_json is not None and as_json.values == found.values
    assert run_config_text("", "run config") is None
    with pytest.raises(TealError, match="run config must map model names to their fields"):
        run_config_text("customer_segments: 90", "run config")


def test_a_job_gives_its_selection_vars_tags_and_partitions_unless_given():
    job = Job(
        "nightly",
        select=("marts+",),
        exclude=("revenue_trend",),
        vars={"currency": "USD"},
        tags=("team:finance",),
        partitions=("2025-03-01..2025-03-03",),
        full_refresh=True,
    )
    found = job_request(job, (), ("daily_traffic",), partitions_given=False)
    assert found.select == ("marts+",)
    assert found.exclude == ("revenue_trend", "daily_traffic")
    assert (found.vars, found.tags) == ({"currency": "USD"}, ("team:finance",))
    assert found.partitions == ("2025-03-01..2025-03-03",) and found.full_refresh
    assert job_request(job, (), (), partitions_given=True).partitions is None
    with pytest.raises(TealError, match="use job or select, not both"):
        job_request(job, ("a",), (), partitions_given=False, flags=("job", "select"))

"""Results of a build: per-model status, rows and timings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SUCCESS, ERROR, SKIPPED = "success", "error", "skipped"
# why a step a cancel (`teal cancel`, Ctrl-C) stopped while it ran is skipped
CANCELED_RUNNING = "canceled while running: its work was rolled back"


@dataclass(frozen=True)
class ModelResult:
    model: str
    status: str  # success | error | skipped
    relation: str | None = None
    materialization: str | None = None
    rows: int | None = None
    duration_s: float = 0.0
    message: str | None = None  # error text, or why it was skipped
    path: str | None = None
    line: int | None = None
    col: int | None = None
    # partitions built (partitioned models); a step a cancel stopped: those it committed
    # before the cancel, which keep their rows (``rows``)
    partitions: int | None = None
    checks: tuple[Any, ...] = ()  # runtime.checking.CheckOutcome of this model's checks
    # failed, but its new data was published first (a Python check runs after publishing)
    published: bool = False
    attempts: int = 1  # how many times it ran (more than 1: it was retried)
    # what its materialization recorded beyond rows: teal.Output metadata, the values of
    # its `metadata` config (runtime/metadata.py)
    metadata: dict[str, Any] = field(default_factory=dict)
    # a partitioned step's partitions that did not commit (failed, canceled, or held back
    # because they read an upstream partition that failed) while others did: a step
    # downstream builds its partitions that read none of them (runtime/held_back.py)
    failed_partitions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """The fields that say something (not at their defaults), each check as its name
        and status: a notebook shows a result in a line or two."""
        shown = [f"model={self.model!r}", f"status={self.status!r}"]
        for f in fields(self)[2:]:
            value = getattr(self, f.name)
            default = f.default_factory() if callable(f.default_factory) else f.default
            if value == default:
                continue
            if f.name == "duration_s":
                value = round(value, 3)
            elif f.name == "checks":
                value = tuple(f"{c.check}: {c.status}" for c in value)
            shown.append(f"{f.name}={value!r}")
        return f"ModelResult({', '.join(shown)})"

    @property
    def canceled(self) -> bool:
        """Stopped by a cancel while it ran (the run store records the step canceled)."""
        return self.status == SKIPPED and (self.message or "").startswith("canceled while running")

    @property
    def location(self) -> str:
        parts = [self.path or self.model]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


@dataclass(frozen=True)
class BuildResult:
    """What ``teal.build`` returns. Index it by model name."""

    run_id: str
    results: tuple[ModelResult, ...]
    duration_s: float
    warehouse: str
    not_run: dict[str, str] = field(default_factory=dict)
    # runtime.checking.CheckOutcome of the selected tests whose model this build did not
    # build, run on the relation as it is (dbt's --state: a test changed by itself;
    # runtime/tests_alone.py)
    tests: tuple[Any, ...] = ()
    # --defer-to: each model read from the deferred warehouse (compiler.deferral.DeferredRead)
    deferred: dict[str, Any] = field(default_factory=dict)
    # model -> its checks, not run because the model got no step, up to date (a build
    # checks new data; runtime/tests_alone.py)
    checks_not_run: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(r.status == SUCCESS for r in self.results) and not any(
            o.blocks for o in self.tests
        )

    def __repr__(self) -> str:
        """A line for the run, then one per model (status, materialization, rows, time or
        where it failed): what a notebook shows for a build."""
        head = (
            f"BuildResult(run_id={self.run_id!r}, success={self.success}, "
            f"built={len(self.built)}, failed={len(self.failed)}, "
            f"skipped={len(self.skipped)}, duration_s={round(self.duration_s, 3)}"
            + (f", not_run={len(self.not_run)}" if self.not_run else "")
            + ")"
        )
        width = max((len(r.model) for r in self.results), default=0)
        lines = [head]
        for r in self.results:
            said = f"{r.rows} rows" if r.rows is not None else ""
            if r.status != SUCCESS and r.message:
                said = f"{r.location}: {r.message.splitlines()[0]}"
            cells = (r.model.ljust(width), r.status.ljust(7), (r.materialization or "").ljust(11))
            lines.append(f"  {' '.join(cells)} {r.duration_s:6.2f}s  {said}".rstrip())
        lines += [f"  test {o.check} ({o.asset}): {o.status}" for o in self.tests]
        return "\n".join(lines)

    def __getitem__(self, model: str) -> ModelResult:
        found = self.get(model)
        if found is None:
            why = self.not_run.get(model)
            raise KeyError(f"{model}: not run ({why})" if why else f"{model}: not in this build")
        return found

    def get(self, model: str) -> ModelResult | None:
        """The result of ``model``, or None when this build did not run it (``not_run``
        says why, for a selected model)."""
        for r in self.results:
            if r.model == model:
                return r
        return None

    def __iter__(self) -> Iterator[ModelResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def by_status(self, status: str) -> list[ModelResult]:
        return [r for r in self.results if r.status == status]

    @property
    def built(self) -> list[ModelResult]:
        return self.by_status(SUCCESS)

    @property
    def failed(self) -> list[ModelResult]:
        return self.by_status(ERROR)

    @property
    def skipped(self) -> list[ModelResult]:
        return self.by_status(SKIPPED)

    def written(self) -> str:
        """What the build committed, as its summary says it: ``1,234 rows written``; with
        ``32 partitions committed before the cancel, `` first when steps a cancel stopped
        (skipped) had committed partitions, each in its own transaction, which keep their
        rows. A failed step's rows are those it committed too (partitions beside the ones
        that failed, or its data published before a Python check failed)."""
        from teal.compiler.wording import counted

        canceled = [r for r in self.skipped if r.canceled]
        rows = sum(r.rows or 0 for r in self.built + self.failed + canceled)
        kept = sum(r.partitions or 0 for r in canceled)
        before = f"{counted(kept, 'partition')} committed before the cancel, " if kept else ""
        return f"{before}{counted(rows, 'row')} written"

    @property
    def check_outcomes(self) -> list[Any]:
        return [c for r in self.results for c in r.checks] + list(self.tests)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "duration_s": round(self.duration_s, 4),
            "warehouse": self.warehouse,
            "counts": {
                "success": len(self.built),
                "error": len(self.failed),
                "skipped": len(self.skipped),
                "failed_after_publishing": sum(r.published for r in self.failed),
            },
            "results": [asdict(r) for r in self.results],
            # selected models that needed no step, and why (unchanged, up to date, ...)
            "not_run": dict(self.not_run),
            # tests run alone, their model not built (runtime/tests_alone.py)
            "tests": [asdict(o) for o in self.tests],
            # checks not run: their model is up to date (runtime/tests_alone.py)
            "checks_not_run": {m: list(c) for m, c in self.checks_not_run.items()},
            # models read from another warehouse (--defer-to): path, relation there, why
            **(
                {"deferred": {n: r.as_json() for n, r in sorted(self.deferred.items())}}
                if self.deferred
                else {}
            ),
        }

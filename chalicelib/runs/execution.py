"""The run itself, shared by the worker and the debug route: its environment and secrets, the
runner's call within the invocation's budget, and the verdict of a result. What a report covers
is read through catalog/access.py (`testcase_ids`, `stored_testcases`, `testcase_resolver`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.catalog.access import live_project, testcase_resolver
from chalicelib.catalog.models import Project, StoredTestcase
from chalicelib.core.edge import Runner
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import get_settings, outbound_allow
from chalicelib.files.service import run_file_reader
from chalicelib.runs.models import (
    DEGRADED,
    FAILED,
    PASSED,
    Report,
)

# What a run's budget keeps back of the invocation's time left: writing the detail, the
# finish, the follow-ups (runs/jobs.py hands the worker the rest).
RUN_BUDGET_MARGIN_SECONDS = 30


def choose_environment(project: Project, name: str | None) -> tuple[str | None, dict]:
    """(name, {"base_url", "variables"}) of the run's environment. No name: "default", or the
    only one; none at all is an empty environment. An unknown name is a 400."""
    environments = project.environments or {}
    if name is None:
        if "default" in environments:
            name = "default"
        elif len(environments) == 1:
            name = next(iter(environments))
        else:
            return None, {}
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise ValidationFailed({"environment": f"no environment {name!r} in this project (known: {known})"})
    return name, dict(environments[name] or {})


class CannotRun(Exception):
    """The run cannot happen (project gone, environment removed, nothing to run)."""


def run_context(report: Report) -> tuple[Project, dict]:
    project = live_project(report.project_id)
    if project is None:
        raise CannotRun("the project was deleted")
    if report.environment is not None and report.environment not in (project.environments or {}):
        raise CannotRun(f"the environment {report.environment!r} no longer exists")
    _name, environment = choose_environment(project, report.environment) if report.environment \
        else (None, {})
    return project, environment


def secret_run(project: Project, environment_name: str | None, environment: Mapping,
               run: Callable[[dict], dict]) -> dict:
    """Runs `run(environment)` with the environment's secrets opened into its variables, and
    returns its result with their values masked, as every log line written meanwhile; a failure
    is re-raised with its message masked and without the chained original."""
    from chalicelib.catalog.secrets import opened
    from chalicelib.core.masking import Masker, masking

    secrets = opened(project.id, project.secrets_key, environment_name, environment)
    clear = {key: value for key, value in environment.items() if key != "secrets"}
    if secrets:
        clear["variables"] = {**(environment.get("variables") or {}), **secrets}
    masker = Masker(secrets.values())
    with masking(masker):
        try:
            return masker.mask(run(clear))
        except Exception as failure:
            if not masker:
                raise
            raise RuntimeError(masker.text(str(failure))) from None


def run_testcases(project: Project, report: Report, environment: dict, testcases: list[StoredTestcase],
                  runner: Runner, budget_seconds: float | None) -> dict:
    """The report's test cases through the runner, in the project's sandbox where they call its
    debugtalk.py, within the run's deadline and `budget_seconds`, what the invocation has left
    for them (None: no limit but the deadline), so a function timeout below
    HAT_RUN_DEADLINE_SECONDS cannot cut a run."""
    settings = get_settings()
    deadline = float(settings.run_deadline_seconds)
    if budget_seconds is not None:
        deadline = max(1.0, min(deadline, budget_seconds))
    from chalicelib.sandbox.service import run_with_sandbox

    # testcases calling the project's debugtalk.py run in its sandbox, the rest here
    return secret_run(project, report.environment, environment, lambda clear: run_with_sandbox(
        project.id, [t.document for t in testcases], runner, environment=clear,
        concurrency=settings.run_concurrency, outbound_allow=outbound_allow(),
        resolve_testcase=testcase_resolver(project.id), read_file=run_file_reader(project.id),
        deadline_seconds=deadline))


def verdict(tests_run: int, successes: int, degraded: int) -> str:
    """failed unless every test case passed; degraded when some of them were slow."""
    if not tests_run or successes != tests_run:
        return FAILED
    return DEGRADED if degraded else PASSED


def counts(result: Mapping) -> tuple[int, int, int]:
    tests_run = int(result.get("tests_run", len(result.get("testcases", []))))
    successes = int(result.get("successes", 0))
    return tests_run, successes, int(result.get("failures", tests_run - successes))

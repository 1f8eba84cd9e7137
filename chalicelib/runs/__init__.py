"""Runs: run jobs, reports (summaries in DynamoDB, details in S3), dashboard, CI webhooks.

Lifecycle of a report: `queued` (route or task) -> `running` (worker, conditional) ->
`passed` | `degraded` | `failed` | `error` (one TransactWriteItems with the day's counters,
conditional on `running`, so it happens once whatever the redeliveries; store.finish). A run
with a retry policy stays `running` between its attempts (retries.py). Every job effect runs
under `core.jobs.run_once`; notifications and callbacks use deterministic job ids, so the
email/sms workers' own run_once makes a duplicate enqueue harmless.

Modules, each importing only those above it:
- execution.py  the run itself: what a report covers (catalog reads), environment, secrets,
                the runner's call, the verdict
- reading.py    reports, lists, JUnit, the dashboard, the debug route's inline run
- queueing.py   starting runs: a queued report and its job (routes, tasks' start_run)
- webhooks.py   the CI webhook's secret (rotation, the secrets valid now) and signed runs
- followups.py  after a report finishes: history, outcome streaks, messages, alerts, callback
- worker.py     the runs queue: runs, chunks, retried attempts, the reaper, the dispatch
Beside them: models.py, store.py (S3 details, counters, the finishing transaction),
retries.py, history.py, hooks.py and github.py (GitHub/GitLab deliveries, commit statuses),
extensions.py (what other features plug in), routes.py and jobs.py (thin).
"""

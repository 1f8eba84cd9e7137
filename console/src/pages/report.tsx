// One report: test cases and steps, failures first and open; polls while queued or running.
// A retried run (docs/alerts.md "Retries of a whole run") shows its attempts, and each test case
// that ran again its earlier failures; a task's re-sync of its imports before the run, its outcome.
import { useEffect } from "preact/hooks";
import {
  api, type Attempt, type DebugReport, type ImportSync, type ModuleSync, type Report, type RetryPolicy, type Step,
  type TestcaseResult,
} from "../api";
import { enumText, ErrorNote, Link, Loading, PageTitle, StatusBadge, useLoad } from "../components";
import { formatDuration, formatTime, t } from "../i18n";

const POLL_MS = 1000;

function show(value: unknown): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Block(props: { title: string; value: unknown }) {
  if (props.value === undefined || props.value === null) return null;
  return (
    <details class="block">
      <summary>{props.title}</summary>
      <pre class="code">{typeof props.value === "string" ? props.value : JSON.stringify(props.value, null, 2)}</pre>
    </details>
  );
}

function StepView(props: { step: Step }) {
  const step = props.step;
  return (
    <details class={step.success ? "step" : "step failed"} open={!step.success} data-step={step.name}>
      <summary>
        <StatusBadge status={step.success ? "passed" : "failed"} /> <span class="step-name">{step.name}</span>
        <span class="muted"> {step.status_code ?? "—"} · {formatDuration(step.elapsed_ms)}</span>
      </summary>
      {step.error && <p class="field-error">{step.error}</p>}
      {step.validators?.length > 0 && (
        <div class="table-wrap">
          <table class="validators">
            <thead><tr>
              <th scope="col">{t("report.check")}</th><th scope="col">{t("report.comparator")}</th>
              <th scope="col">{t("report.expected")}</th><th scope="col">{t("report.actual")}</th>
              <th scope="col">{t("report.result")}</th>
            </tr></thead>
            <tbody>
              {step.validators.map((validator, index) => (
                <tr key={index} class={validator.result === "fail" ? "fail" : ""}>
                  <td><code>{show(validator.check)}</code></td>
                  <td>{validator.comparator}</td>
                  <td class="expected"><code>{show(validator.expected)}</code></td>
                  <td class="actual"><code>{show(validator.actual)}</code></td>
                  <td><StatusBadge status={validator.result === "pass" ? "passed" : "failed"} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {Array.isArray(step.attempts) && step.attempts.length > 0 && (
        <Block title={t("report.attempts", { count: step.attempts.length })} value={step.attempts} />
      )}
      <Block title={t("report.request")} value={step.request} />
      <Block title={t("report.response")} value={step.response} />
      <Block title={t("report.extracted")} value={step.extracted} />
    </details>
  );
}

function failuresFirst<T extends { success: boolean }>(items: T[]): T[] {
  return [...items].sort((a, b) => Number(a.success) - Number(b.success));
}

/** Per module, what a re-sync from its OpenAPI URL did (counts) or why it failed; module names
 * from the project's modules (the id when the module is gone). */
export function ImportSyncList(props: { projectId: string; modules: ModuleSync[] }) {
  const modules = useLoad(() => (props.modules.length ? api.modules(props.projectId) : Promise.resolve(null)),
    [props.projectId, props.modules.length]);
  if (!props.modules.length) return <p class="muted">{t("importSync.none")}</p>;
  const name = (id: string) => modules.data?.items.find((module) => module.id === id)?.name ?? id;
  return (
    <ul class="plain import-sync-list">
      {props.modules.map((outcome) => (
        <li key={outcome.module_id} data-module={outcome.module_id}>
          <Link to={`/modules/${outcome.module_id}`}>{name(outcome.module_id)}</Link>{": "}
          {outcome.error ? (
            <span class="field-error">{t("importSync.failed", { code: outcome.error.code, message: outcome.error.message })}</span>
          ) : t("importSync.counts", { added: outcome.added, updated: outcome.updated, removed: outcome.removed,
            kept: outcome.kept_edited })}
        </li>
      ))}
    </ul>
  );
}

function policyText(policy: RetryPolicy): string {
  return t("attempts.policy", { attempts: policy.attempts, backoff: t(`backoff.${policy.backoff}`),
    delay: policy.delay_seconds, budget: policy.max_total_seconds });
}

/** Each attempt of a retried run: its status, counts, duration, and the wait before the next
 * ("next attempt at ..." while the run is still waiting for it). */
function AttemptsTimeline(props: { report: Report; pending: boolean }) {
  const attempts: Attempt[] = props.report.attempts ?? [];
  const last = attempts[attempts.length - 1];
  const waiting = props.pending && last?.next_attempt_at;
  return (
    <section class="attempts" aria-labelledby="attempts-title" data-testid="attempts">
      <h2 id="attempts-title">{t("attempts.title")}</h2>
      {props.report.retries && <p class="muted">{policyText(props.report.retries)}</p>}
      <ol class="timeline">
        {attempts.map((attempt) => (
          <li key={attempt.attempt} data-attempt={attempt.attempt} class={`attempt-${attempt.status}`}>
            <strong>{t("attempts.number", { n: attempt.attempt })}</strong>{" "}
            <StatusBadge status={attempt.status} />{" "}
            {t("attempts.counts", { run: attempt.tests_run, ok: attempt.successes,
              failed: attempt.tests_run - attempt.successes })}
            {" · "}{formatDuration(attempt.duration_ms)}
            {attempt.delay_seconds ? <span class="muted">{" · "}{t("attempts.waited", { n: attempt.delay_seconds })}</span> : null}
          </li>
        ))}
      </ol>
      {waiting && <p role="status" class="next-attempt">{t("attempts.next", { time: formatTime(last.next_attempt_at) })}</p>}
    </section>
  );
}

function AttemptNote(props: { testcase: TestcaseResult }) {
  const { attempt, success } = props.testcase;
  if (!attempt || attempt < 2) return null;
  return (
    <span class={success ? "badge attempt-note passed-later" : "badge attempt-note"}>
      {t(success ? "attempts.passedOn" : "attempts.failedOn", { n: attempt })}
    </span>
  );
}

function EarlierAttempts(props: { earlier: TestcaseResult[] }) {
  if (!props.earlier.length) return null;
  return (
    <details class="earlier" data-testid="earlier-attempts">
      <summary>{t("attempts.earlier", { count: props.earlier.length })}</summary>
      {props.earlier.map((result, index) => (
        <div class="earlier-attempt" key={index} data-attempt={result.attempt ?? index + 1}>
          <p><strong>{t("attempts.number", { n: result.attempt ?? index + 1 })}</strong>{" "}
            <StatusBadge status={result.success ? "passed" : "failed"} /></p>
          {result.error && <p class="field-error">{result.error}</p>}
          {failuresFirst(result.steps ?? []).map((step, stepIndex) => <StepView key={stepIndex} step={step} />)}
        </div>
      ))}
    </details>
  );
}

export function ReportBody(props: { report: Report | DebugReport }) {
  const testcases: TestcaseResult[] = props.report.testcases ?? [];
  return (
    <div class="report">
      <p class="summary">
        <StatusBadge status={props.report.status} />{" "}
        {t("reports.countsValue", { run: props.report.tests_run, ok: props.report.successes, failed: props.report.failures })}
        {" · "}{formatDuration(props.report.duration_ms)}
      </p>
      {failuresFirst(testcases).map((testcase, index) => (
        <details key={index} class={testcase.success ? "testcase" : "testcase failed"} open={!testcase.success}>
          <summary>
            <StatusBadge status={testcase.success ? "passed" : "failed"} /> <strong>{testcase.name}</strong>
            {" "}<AttemptNote testcase={testcase} />
          </summary>
          {testcase.error && <p class="field-error">{testcase.error}</p>}
          {failuresFirst(testcase.steps ?? []).map((step, stepIndex) => <StepView key={stepIndex} step={step} />)}
          <EarlierAttempts earlier={testcase.earlier_attempts ?? []} />
        </details>
      ))}
    </div>
  );
}

/** The re-sync of the task's imports before this run (a list of modules, or the task's record of it). */
function ReportImportSync(props: { report: Report; sync: ModuleSync[] | ImportSync }) {
  const modules = Array.isArray(props.sync) ? props.sync : props.sync.modules ?? [];
  return (
    <section class="import-sync" aria-labelledby="import-sync-title" data-testid="import-sync">
      <h2 id="import-sync-title">{t("importSync.title")}</h2>
      <ImportSyncList projectId={props.report.project_id} modules={modules} />
    </section>
  );
}

export function ReportPage(props: { id: string }) {
  const report = useLoad(() => api.report(props.id), [props.id]);
  const status = report.data?.status;
  useEffect(() => {
    if (status !== "queued" && status !== "running") return;
    const timer = window.setTimeout(() => {
      api.report(props.id).then(report.setData, () => undefined);
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [report.data]);
  if (report.error) return <main id="main"><ErrorNote error={report.error} onRetry={report.reload} /></main>;
  if (!report.data) return <main id="main"><Loading /></main>;
  const data = report.data;
  const pending = data.status === "queued" || data.status === "running";
  return (
    <main id="main">
      <p class="crumbs"><Link to={`/projects/${data.project_id}/reports`}>{t("project.reports")}</Link></p>
      <PageTitle title={data.name || t("report.title")}>
        {!pending && <a class="button" href={api.junitUrl(data.id)} download={`report-${data.id}.xml`}>{t("report.junit")}</a>}
      </PageTitle>
      <dl class="facts">
        <dt>{t("reports.trigger")}</dt><dd>{enumText("trigger", data.trigger)}{data.environment ? ` · ${data.environment}` : ""}</dd>
        <dt>{t("report.started")}</dt><dd>{formatTime(data.started_at)}</dd>
        <dt>{t("report.finished")}</dt><dd>{formatTime(data.finished_at)}</dd>
      </dl>
      {pending && <p class="state loading" role="status" aria-live="polite">{t("report.pending")}</p>}
      {data.error && <p class="field-error">{data.error}</p>}
      {data.detail_expired && <p class="muted">{t("report.expired")}</p>}
      {(data.attempts?.length ?? 0) > 0 && <AttemptsTimeline report={data} pending={pending} />}
      {data.import_sync && <ReportImportSync report={data} sync={data.import_sync} />}
      <ReportBody report={data} />
    </main>
  );
}

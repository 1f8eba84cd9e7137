// One report: test cases and steps, failures first and open; polls while queued or running.
import { useEffect } from "preact/hooks";
import { api, type DebugReport, type Report, type Step, type TestcaseResult } from "../api";
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
          <summary><StatusBadge status={testcase.success ? "passed" : "failed"} /> <strong>{testcase.name}</strong></summary>
          {testcase.error && <p class="field-error">{testcase.error}</p>}
          {failuresFirst(testcase.steps ?? []).map((step, stepIndex) => <StepView key={stepIndex} step={step} />)}
        </details>
      ))}
    </div>
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
      <ReportBody report={data} />
    </main>
  );
}

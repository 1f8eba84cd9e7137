// Scheduled tasks: list with an on/off switch and each task's recent runs, create and edit
// with the crontab read aloud.
import { useMemo, useState } from "preact/hooks";
import { api, type Backoff, type Module, type Project, type RetryPolicy, type Task } from "../api";
import {
  ConfirmDialog, Empty, ErrorNote, Field, fieldErrors, type FormEvent, HistoryCell, HistoryPanel, Link, Loading, PageTitle, Select,
  StatusBadge, useLoad,
} from "../components";
import { describeCrontab, nextRuns, parseCrontab } from "../cron";
import { formatTime, t } from "../i18n";
import { navigate } from "../router";
import { useSession } from "../session";
import { environmentOptions, runAndOpenReport } from "./projects";
import { ImportSyncList } from "./report";

function EnabledSwitch(props: { task: Task; onChange: (task: Task) => void; onError: (error: unknown) => void }) {
  const [busy, setBusy] = useState(false);
  async function toggle() {
    setBusy(true);
    try {
      props.onChange(await api.updateTask(props.task.id, { enabled: !props.task.enabled }));
    } catch (failure) {
      props.onError(failure);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" role="switch" aria-checked={props.task.enabled} class="switch" disabled={busy} onClick={toggle}
      aria-label={t("tasks.enabledFor", { name: props.task.name })}>
      <span>{props.task.enabled ? t("tasks.on") : t("tasks.off")}</span>
    </button>
  );
}

export function TasksPage() {
  const tasks = useLoad(() => api.tasks({ include: "history" }), []);
  const [error, setError] = useState<unknown>(null);
  // A PATCH answers the task without its history: keep the one the list brought.
  const replace = (task: Task) => tasks.setData({
    items: (tasks.data?.items ?? []).map((item) => (item.id === task.id ? { ...task, history: item.history } : item)),
    next_cursor: tasks.data?.next_cursor ?? null,
  });
  return (
    <main id="main">
      <PageTitle title={t("tasks.title")}>
        <Link to="/tasks/new" class="button primary">{t("tasks.new")}</Link>
      </PageTitle>
      <ErrorNote error={error} />
      {tasks.loading && <Loading />}
      <ErrorNote error={tasks.error} onRetry={tasks.reload} />
      {tasks.data && (tasks.data.items.length ? (
        <div class="table-wrap">
          <table>
            <thead><tr>
              <th scope="col">{t("tasks.name")}</th><th scope="col">{t("tasks.enabled")}</th>
              <th scope="col">{t("tasks.crontab")}</th><th scope="col">{t("tasks.timezone")}</th>
              <th scope="col">{t("tasks.nextRuns")}</th><th scope="col">{t("tasks.runCount")}</th>
              <th scope="col">{t("tasks.lastReport")}</th><th scope="col">{t("history.title")}</th>
            </tr></thead>
            <tbody>
              {tasks.data.items.map((task) => {
                const last = task.last_report;
                return (
                  <tr key={task.id} data-task={task.name}>
                    <td><Link to={`/tasks/${task.id}`}>{task.name}</Link></td>
                    <td><EnabledSwitch task={task} onChange={replace} onError={setError} /></td>
                    <td><code>{task.crontab}</code></td>
                    <td>{task.timezone}</td>
                    <td>{task.schedule?.next_runs?.length ? <ul class="plain runs">{task.schedule.next_runs.map((run) =>
                      <li key={run}>{formatTime(run, task.timezone)}</li>)}</ul> : "—"}</td>
                    <td>{task.run_count}</td>
                    <td>{last ? <Link to={`/reports/${last.id}`}><StatusBadge status={last.status} /></Link> : "—"}</td>
                    <td><HistoryCell history={task.history} /></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : <Empty text={t("tasks.empty")} />)}
    </main>
  );
}

const TIMEZONES = ["UTC", "Asia/Shanghai", "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata", "Europe/London",
  "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles", "Australia/Sydney"];

function zones(current: string): string[] {
  const all = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? TIMEZONES;
  return all.includes(current) ? all : [current, ...all];
}

function CronPreview(props: { crontab: string; timezone: string }) {
  const preview = useMemo(() => {
    const parsed = parseCrontab(props.crontab);
    if ("badField" in parsed) {
      return { error: parsed.badField < 0 ? t("cron.fiveFields") : t("cron.badField", { field: t(`cron.field${parsed.badField}` as never) }) };
    }
    try {
      return { words: describeCrontab(parsed), runs: nextRuns(parsed, props.timezone) };
    } catch {
      return { error: t("cron.badZone") };
    }
  }, [props.crontab, props.timezone]);
  return (
    <div class="cron-preview" aria-live="polite" data-testid="cron-preview">
      {preview.error ? <p class="field-error">{preview.error}</p> : (
        <>
          <p>{preview.words}</p>
          <p class="muted">{t("tasks.nextRuns")}:</p>
          <ol class="runs">{preview.runs!.map((run) => <li key={run.getTime()}>{formatTime(run.toISOString(), props.timezone)}</li>)}</ol>
        </>
      )}
    </div>
  );
}

// docs/alerts.md "Retries of a whole run": retry k waits d, d, d (fixed), d, 2d, 3d (linear) or
// d, 2d, 4d (exponential), each at most SQS's 900 s, and none is queued whose due time lies past
// the budget after the run started (runs/retries.py).
const MAX_WAIT_SECONDS = 900;
const BACKOFFS: Backoff[] = ["fixed", "linear", "exponential"];
const RETRY_DEFAULTS: RetryPolicy = { attempts: 2, backoff: "fixed", delay_seconds: 30, max_total_seconds: 600 };

/** The waits before each retry by `policy`, and whether the budget cut the list short. The
 * runs' own time comes on top of the waits, so a slow run may get fewer (the worker decides). */
function waitSchedule(policy: RetryPolicy): { waits: number[]; cut: boolean } {
  const waits: number[] = [];
  let due = 0;
  for (let retry = 1; retry <= policy.attempts; retry++) {
    const factor = policy.backoff === "linear" ? retry : policy.backoff === "exponential" ? 2 ** (retry - 1) : 1;
    const wait = Math.min(MAX_WAIT_SECONDS, policy.delay_seconds * factor);
    if (due + wait > policy.max_total_seconds) return { waits, cut: true };
    due += wait;
    waits.push(wait);
  }
  return { waits, cut: false };
}

/** A whole number typed in a field, or the text as typed (the API answers 400 naming the field). */
function wholeNumber(text: string): number | string {
  const value = Number(text);
  return text.trim() !== "" && Number.isInteger(value) ? value : text;
}

interface RetryForm { on: boolean; attempts: string; backoff: Backoff; delay: string; budget: string }

function retryForm(policy: RetryPolicy | null | undefined): RetryForm {
  const value = policy ?? RETRY_DEFAULTS;
  return { on: Boolean(policy), attempts: String(value.attempts), backoff: value.backoff,
    delay: String(value.delay_seconds), budget: String(value.max_total_seconds) };
}

function retryPolicy(form: RetryForm): RetryPolicy | null {
  if (!form.on) return null;
  return { attempts: wholeNumber(form.attempts), backoff: form.backoff, delay_seconds: wholeNumber(form.delay),
    max_total_seconds: wholeNumber(form.budget) } as RetryPolicy; // a typo goes as typed, for the API to name
}

function RetryPreview(props: { form: RetryForm }) {
  const policy = retryPolicy(props.form);
  const whole = policy && [policy.attempts, policy.delay_seconds, policy.max_total_seconds].every(Number.isInteger);
  let text: string;
  if (!whole) text = t("retries.previewInvalid");
  else {
    const { waits, cut } = waitSchedule(policy!);
    if (waits.length) {
      text = t("retries.waits", { waits: waits.map((wait) => t("retries.seconds", { n: wait })).join(", ") });
      if (cut) text += ` ${t("retries.cut", { budget: policy!.max_total_seconds })}`;
    } else text = t(cut ? "retries.none" : "retries.zero");
  }
  return <p class="retry-preview" aria-live="polite" data-testid="retry-preview">{text}</p>;
}

function RetriesSection(props: { form: RetryForm; onChange: (form: RetryForm) => void; fields: Record<string, string> }) {
  const { form, fields } = props;
  const shown = ["retries.attempts", "retries.backoff", "retries.delay_seconds", "retries.max_total_seconds"];
  const other = fields.retries ?? Object.entries(fields).find(([key]) => key.startsWith("retries.") && !shown.includes(key))?.[1];
  const set = (patch: Partial<RetryForm>) => props.onChange({ ...form, ...patch });
  return (
    <fieldset class={other ? "retries invalid" : "retries"} data-testid="retries">
      <legend>{t("retries.title")}</legend>
      <div class="check">
        <input type="checkbox" id="retries-on" checked={form.on}
          onChange={(event) => set({ on: (event.target as HTMLInputElement).checked })} />
        <label for="retries-on">{t("retries.on")}</label>
      </div>
      {other && <p class="field-error" role="alert">{other}</p>}
      {form.on && (
        <>
          <div class="retry-fields">
            <Field label={t("retries.attempts")} name="retries-attempts" type="number" value={form.attempts}
              onInput={(attempts) => set({ attempts })} error={fields["retries.attempts"]} hint={t("retries.attemptsHint")} />
            <Select label={t("retries.backoff")} name="retries-backoff" value={form.backoff}
              onChange={(backoff) => set({ backoff: backoff as Backoff })}
              options={BACKOFFS.map((value) => ({ value, label: t(`backoffOption.${value}`) }))} />
            {fields["retries.backoff"] && <p class="field-error" role="alert">{fields["retries.backoff"]}</p>}
            <Field label={t("retries.delay")} name="retries-delay" type="number" value={form.delay}
              onInput={(delay) => set({ delay })} error={fields["retries.delay_seconds"]}
              hint={t("retries.delayHint")} />
            <Field label={t("retries.budget")} name="retries-budget" type="number" value={form.budget}
              onInput={(budget) => set({ budget })} error={fields["retries.max_total_seconds"]} hint={t("retries.budgetHint")} />
          </div>
          <RetryPreview form={form} />
        </>
      )}
    </fieldset>
  );
}

function TaskForm(props: { task: Task | null; projects: Project[] }) {
  const session = useSession();
  const defaultZone = (session.status === "signed-in" && session.user.timezone)
    || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const task = props.task;
  const [name, setName] = useState(task?.name ?? "");
  const [projectId, setProjectId] = useState(task?.project_id ?? props.projects[0]?.id ?? "");
  const [moduleIds, setModuleIds] = useState<string[]>(task?.module_ids ?? []);
  const [crontab, setCrontab] = useState(task?.crontab ?? "0 8 * * 1-5");
  const [timezone, setTimezone] = useState(task?.timezone ?? defaultZone);
  const [environment, setEnvironment] = useState(task?.environment ?? "");
  const [enabled, setEnabled] = useState(task?.enabled ?? true);
  const [emails, setEmails] = useState((task?.notify?.emails ?? []).join(", "));
  const [when, setWhen] = useState(task?.notify?.when ?? "never");
  const [retries, setRetries] = useState(() => retryForm(task?.retries));
  const [syncImports, setSyncImports] = useState(task?.sync_imports ?? false);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState("");
  const project = props.projects.find((p) => p.id === projectId) ?? null;
  const modules = useLoad(async () => (projectId ? api.modules(projectId) : { items: [] as Module[], next_cursor: null }), [projectId]);
  const fields = fieldErrors(error);

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const body: Partial<Task> = {
      name, module_ids: moduleIds, crontab, timezone, environment: environment || null, enabled,
      notify: { emails: emails.split(",").map((e) => e.trim()).filter(Boolean), mobiles: task?.notify?.mobiles ?? [],
        when: when as Task["notify"]["when"] },
      retries: retryPolicy(retries), sync_imports: syncImports,
    };
    try {
      const saved = task ? await api.updateTask(task.id, body) : await api.createTask({ ...body, project_id: projectId });
      navigate(task ? "/tasks" : `/tasks/${saved.id}`, { replace: !task });
      if (task) return;
    } catch (failure) {
      setError(failure);
    }
  }
  const runNow = () => runAndOpenReport(() => api.runTask(task!.id), setError);
  async function remove() {
    setConfirming(false);
    try {
      await api.deleteTask(task!.id);
      navigate("/tasks", { replace: true });
    } catch (failure) {
      setError(failure);
      setMessage("");
    }
  }
  return (
    <form onSubmit={save} noValidate class="task-form">
      <Field label={t("tasks.name")} name="task-name" value={name} onInput={setName} required error={fields.name} />
      {task ? <p><span class="muted">{t("tasks.project")}:</span> {project?.name ?? task.project_id}</p> : (
        <Select label={t("tasks.project")} name="task-project" value={projectId}
          onChange={(value) => { setProjectId(value); setModuleIds([]); }}
          options={props.projects.map((p) => ({ value: p.id, label: p.name }))} />
      )}
      {fields.project_id && <p class="field-error">{fields.project_id}</p>}
      <fieldset>
        <legend>{t("tasks.modules")}</legend>
        <p class="hint">{t("tasks.modulesHint")}</p>
        {modules.data?.items.map((module) => (
          <div class="check" key={module.id}>
            <input type="checkbox" id={`module-${module.id}`} checked={moduleIds.includes(module.id)}
              onChange={(event) => setModuleIds((event.target as HTMLInputElement).checked
                ? [...moduleIds, module.id] : moduleIds.filter((id) => id !== module.id))} />
            <label for={`module-${module.id}`}>{module.name}</label>
          </div>
        ))}
        {fields.module_ids && <p class="field-error">{fields.module_ids}</p>}
      </fieldset>
      <Field label={t("tasks.crontab")} name="crontab" value={crontab} onInput={setCrontab} required
        error={fields.crontab} hint={t("tasks.crontabHint")} />
      <div class="field">
        <label for="field-timezone">{t("tasks.timezone")}</label>
        <input id="field-timezone" list="timezones" value={timezone}
          onInput={(event) => setTimezone((event.target as HTMLInputElement).value)} />
        <datalist id="timezones">{zones(timezone).map((zone) => <option key={zone} value={zone} />)}</datalist>
        {fields.timezone && <p class="field-error">{fields.timezone}</p>}
      </div>
      <CronPreview crontab={crontab} timezone={timezone} />
      <Select label={t("env.label")} name="task-environment" value={environment ?? ""} onChange={setEnvironment}
        options={environmentOptions(project)} />
      <div class="check">
        <input type="checkbox" id="task-enabled" checked={enabled}
          onChange={(event) => setEnabled((event.target as HTMLInputElement).checked)} />
        <label for="task-enabled">{t("tasks.enabled")}</label>
      </div>
      <div class="check">
        <input type="checkbox" id="task-sync-imports" checked={syncImports}
          aria-describedby={fields.sync_imports ? "task-sync-imports-error" : undefined}
          onChange={(event) => setSyncImports((event.target as HTMLInputElement).checked)} />
        <label for="task-sync-imports">{t("tasks.syncImports")}</label>
      </div>
      {fields.sync_imports && <p class="field-error" id="task-sync-imports-error" role="alert">{fields.sync_imports}</p>}
      <RetriesSection form={retries} onChange={setRetries} fields={fields} />
      <Field label={t("tasks.emails")} name="notify-emails" value={emails} onInput={setEmails} type="text"
        error={Object.entries(fields).find(([key]) => key.startsWith("notify"))?.[1]} />
      <Select label={t("tasks.when")} name="notify-when" value={when} onChange={(value) => setWhen(value as typeof when)}
        options={(["never", "failure", "always"] as const).map((value) => ({ value, label: t(`when.${value}`) }))} />
      {error && !Object.keys(fields).length ? <ErrorNote error={error} /> : null}
      {message && <p role="status">{message}</p>}
      <div class="actions">
        <button type="submit" class="primary">{task ? t("action.save") : t("tasks.create")}</button>
        {task && <button type="button" onClick={runNow}>{t("tasks.runNow")}</button>}
        {task && <button type="button" class="danger" onClick={() => setConfirming(true)}>{t("action.delete")}</button>}
      </div>
      {task && (
        <ConfirmDialog open={confirming} title={t("tasks.deleteTitle", { name: task.name })}
          text={t("tasks.deleteText", { name: task.name })} confirm={t("action.delete")}
          onConfirm={remove} onClose={() => setConfirming(false)} />
      )}
    </form>
  );
}

export function TaskEditPage(props: { id: string | null }) {
  const projects = useLoad(() => api.projects({ limit: 100 }), []);
  const task = useLoad(async () => (props.id ? api.task(props.id) : null), [props.id]);
  const loading = projects.loading || task.loading;
  return (
    <main id="main">
      <p class="crumbs"><Link to="/tasks">{t("tasks.title")}</Link></p>
      <PageTitle title={props.id ? (task.data?.name ?? t("tasks.title")) : t("tasks.new")} />
      {loading && <Loading />}
      <ErrorNote error={projects.error ?? task.error} onRetry={() => { projects.reload(); task.reload(); }} />
      {!loading && projects.data && (projects.data.items.length || task.data ? (
        <TaskForm key={task.data?.id ?? "new"} task={task.data} projects={projects.data.items} />
      ) : <Empty text={t("tasks.needProject")}><Link to="/projects">{t("projects.create")}</Link></Empty>)}
      {task.data?.last_import_sync && (
        <section class="import-sync" data-testid="last-import-sync" aria-labelledby="last-import-sync">
          <h2 id="last-import-sync">{t("importSync.last")}</h2>
          <p>
            {formatTime(task.data.last_import_sync.at, task.data.timezone)}
            {" · "}<Link to={`/reports/${task.data.last_import_sync.report_id}`}>{t("importSync.report")}</Link>
          </p>
          <ImportSyncList projectId={task.data.project_id} modules={task.data.last_import_sync.modules} />
        </section>
      )}
      {props.id && <HistoryPanel id={props.id} load={() => api.taskHistory(props.id!)} />}
      {task.data?.schedule && (
        <section>
          <h2>{t("tasks.schedule")}</h2>
          <p><code>{task.data.schedule.expression}</code> · {task.data.schedule.state}</p>
          <ol class="runs" data-testid="server-next-runs">{task.data.schedule.next_runs.map((run) =>
            <li key={run}>{formatTime(run, task.data!.timezone)}</li>)}</ol>
        </section>
      )}
    </main>
  );
}

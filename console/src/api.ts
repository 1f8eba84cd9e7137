// Every call the console makes to the hat API, in one place. The session is the HttpOnly
// hat_session cookie (never readable here); unsafe methods echo the hat_csrf cookie.

export type Fields = Record<string, string>;

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: Fields = {},
    public retryAfter: number | null = null,
  ) {
    super(message);
  }
}

export interface User {
  id: string; username: string; email: string; mobile: string | null; created_at: string;
  timezone?: string;
}
export interface Environment { base_url: string; variables: Record<string, unknown> }
export interface Project {
  id: string; name: string; description: string; owner_id: string; module_count: number;
  testcase_count: number; environments: Record<string, Environment>; created_at: string; updated_at: string;
}
export interface Module { id: string; project_id: string; name: string; description?: string; testcase_count: number }
export interface TestcaseDocument { config: Record<string, unknown>; teststeps: unknown[] }
export interface TestcaseSummary {
  id: string; module_id: string; project_id: string; name: string; step_count: number; updated_at: string;
}
export interface Testcase extends TestcaseSummary { testcase: TestcaseDocument }
export interface Validator {
  check: unknown; comparator: string; expected?: unknown; actual?: unknown; result: "pass" | "fail";
  message?: string;
}
export interface Step {
  name: string; success: boolean; status_code: number | null; elapsed_ms: number;
  validators: Validator[]; error?: string | null; attempts?: unknown[];
  request?: Record<string, unknown>; response?: Record<string, unknown>;
  [key: string]: unknown;
}
export interface TestcaseResult {
  name: string; success: boolean; steps: Step[]; error?: string | null; testcase_id?: string;
  /** A retried run (docs/alerts.md "Retries of a whole run"): the attempt of this result, and its earlier failed ones. */
  attempt?: number; earlier_attempts?: TestcaseResult[];
}
export type ReportStatus = "queued" | "running" | "passed" | "failed" | "error";
export interface ReportSummary {
  id: string; project_id: string; name: string; status: ReportStatus; trigger: string;
  task_id: string | null; environment: string | null; tests_run: number; successes: number;
  failures: number; created_at: string; started_at: string | null; finished_at: string | null;
  duration_ms: number | null; error?: string | null; started_by?: string | null;
  origin?: { provider?: string; event?: string; ref?: string } | null;
}
export type Backoff = "fixed" | "linear" | "exponential";
export interface RetryPolicy { attempts: number; backoff: Backoff; delay_seconds: number; max_total_seconds: number }
export interface Attempt {
  attempt: number; status: "passed" | "degraded" | "failed"; started_at: string; finished_at: string; duration_ms: number;
  tests_run: number; successes: number; failed_testcases: string[]; delay_seconds?: number | null;
  next_attempt_at?: string | null;
}
/** The re-sync of a module imported from a URL before a task's run (docs/imports.md `sync_imports`). */
export type ModuleSync = { module_id: string } & (
  | { added: number; updated: number; removed: number; kept_edited: number; error?: undefined }
  | { error: { code: string; message: string } });
export interface ImportSync { report_id: string; at: string; modules: ModuleSync[] }
export interface Report extends ReportSummary {
  testcases: TestcaseResult[]; detail_expired?: boolean; retries?: RetryPolicy | null; attempts?: Attempt[];
  import_sync?: ModuleSync[] | ImportSync | null;
}
export interface DebugReport {
  status: string; tests_run: number; successes: number; failures: number; duration_ms: number;
  testcases: TestcaseResult[];
}
export interface Day { date: string; pass: number; fail: number; percent: number }
export interface Dashboard { projects: number; modules: number; testcases: number; timezone: string; days: Day[] }
export interface Notify { emails: string[]; mobiles: string[]; when: "never" | "failure" | "always" }
export interface Task {
  id: string; name: string; project_id: string; module_ids: string[]; crontab: string; timezone: string;
  environment: string | null; enabled: boolean; notify: Notify; run_count: number;
  last_report: { id: string; status: string; at?: string } | null;
  schedule?: { expression: string; state: string; next_runs: string[] };
  /** Retries of a failed run (docs/alerts.md); null: none. Sent as it is typed: the API names a bad field. */
  retries?: RetryPolicy | null; sync_imports?: boolean; last_import_sync?: ImportSync | null;
  /** In the list with ?include=history only. */
  history?: History;
}
export interface Page<T> { items: T[]; next_cursor: string | null }
export interface WebhookSecret { project_id: string; secret: string; rotated_at: string; previous_valid_until: string }
export type KeyScope = "read" | "run" | "write";
export interface ApiKey {
  id: string; project_id: string; name: string; scopes: KeyScope[]; created_by: string; created_at: string;
  expires_at: string | null; last_used_at: string | null; expired: boolean; owner_is_member?: boolean;
}
export interface ApiKeyCreated extends ApiKey { key: string }
export interface DebugtalkSaved { version: number; functions: string[]; sha256: string; size: number; updated_at: string }
export interface Debugtalk extends DebugtalkSaved { source: string }
export type OutcomeStatus = "passed" | "degraded" | "failed" | "error";
export interface Outcome { report_id: string; status: OutcomeStatus; duration_ms: number; finished_at: string | null }
export interface History { items: Outcome[]; flaky: boolean; failing_since: string | null }
export type ImportFormat = "postman" | "har" | "openapi" | "curl";
export interface ImportReport {
  converted: { what: string; into: string }[]; warnings: { what: string; message: string }[];
  not_converted: { what: string; why: string }[];
}
/** ?format= (empty: detected), a format's option (folders, per), or a module's OpenAPI URL. */
export interface ImportOptions {
  format?: ImportFormat | ""; folders?: string; per?: string; source_url?: string;
  /** Postman: the project environment the environment file's values go into. */
  environment?: string;
}
/** Where a Postman environment file went: names only, never a secret's value. */
export interface ImportedEnvironment { name: string; variables: string[]; secrets: string[] }
export interface ImportPreview {
  format: string; testcases: { name: string; group: string | null; testcase: TestcaseDocument }[]; report: ImportReport;
  environment?: ImportedEnvironment | null;
}
export interface ImportResult {
  format: string; testcases: TestcaseSummary[]; modules?: Module[]; report: ImportReport; source_url?: string;
  environment?: ImportedEnvironment | null;
}
export interface SyncResult {
  format: string; source_url: string; added: TestcaseSummary[]; updated: string[]; left_alone: string[];
  removed: string[]; report: ImportReport;
}

// The API's root: the page's <base href> is ".../ui/", the API is one level up.
export const apiRoot = new URL("../", document.baseURI).href.replace(/\/$/, "");

function csrfToken(): string {
  for (const pair of document.cookie.split(";")) {
    const [name, ...rest] = pair.trim().split("=");
    if (name === "hat_csrf") return rest.join("=");
  }
  return "";
}

/** The readable half of a browser session: absent means signed out (no request needed). */
export function hasSession(): boolean {
  return csrfToken() !== "";
}

// What to do when the session ends under the page (expired, signed out elsewhere): set by session.ts.
let onSessionEnded: () => void = () => undefined;
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

type Query = Record<string, string | number | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** A body sent as it is (not as JSON), e.g. debugtalk.py's Python source. */
class RawBody {
  constructor(public type: string, public text: string) {}
}

/** An import's source as its body: JSON (Postman, HAR, OpenAPI) or text (YAML, cURL); the
 * API reads the format from the content, the type only has to be one it takes. */
function importSource(source: string): RawBody | undefined {
  if (!source.trim()) return undefined; // a module's OpenAPI URL instead: no body
  const first = source.trimStart()[0];
  return new RawBody(first === "{" || first === "[" ? "application/json" : "text/plain", source);
}

async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = body instanceof RawBody ? body.type : "application/json";
  if (method !== "GET") headers["X-Hat-CSRF"] = csrfToken();
  let response: Response;
  try {
    response = await fetch(apiRoot + withQuery(path, query), {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "network");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = data?.error ?? {};
    const retry = response.headers.get("Retry-After");
    if (response.status === 401 && path !== "/auth/login") onSessionEnded();
    throw new ApiError(response.status, error.code ?? "error", error.message ?? response.statusText,
      error.fields ?? {}, retry ? Number(retry) : null);
  }
  return data as T;
}

export const api = {
  me: () => call<User>("GET", "/auth/me"),
  updateMe: (patch: { timezone?: string }) => call<User>("PATCH", "/auth/me", patch),
  login: (account: string, password: string, remember: boolean) =>
    call<{ user: User; expires_at: string }>("POST", "/auth/login", { account, password, remember }),
  logout: () => call<void>("POST", "/auth/logout"),
  sendCode: (channel: "email" | "sms", destination: string, purpose: "register" | "reset") =>
    call<{ expires_in: number; resend_after: number }>("POST", "/auth/codes", { channel, destination, purpose }),
  register: (body: { username: string; password: string; email: string; mobile?: string; code: string }) =>
    call<User>("POST", "/auth/register", body),
  resetPassword: (account: string, code: string, new_password: string) =>
    call<void>("POST", "/auth/password/reset", { account, code, new_password }),

  dashboard: () => call<Dashboard>("GET", "/dashboard"),
  projects: (query: { name?: string; cursor?: string | null; limit?: number } = {}) =>
    call<Page<Project>>("GET", "/projects", undefined, query),
  project: (id: string) => call<Project>("GET", `/projects/${encodeURIComponent(id)}`),
  createProject: (name: string, description = "") => call<Project>("POST", "/projects", { name, description }),
  updateProject: (id: string, patch: Partial<Pick<Project, "name" | "description" | "environments">>) =>
    call<Project>("PATCH", `/projects/${encodeURIComponent(id)}`, patch),
  deleteProject: (id: string) => call<void>("DELETE", `/projects/${encodeURIComponent(id)}`),
  members: (id: string) => call<Page<{ id?: string; username: string; role?: string }>>(
    "GET", `/projects/${encodeURIComponent(id)}/members`),
  addMember: (id: string, username: string) => call<unknown>("POST", `/projects/${encodeURIComponent(id)}/members`, { username }),
  removeMember: (id: string, username: string) =>
    call<void>("DELETE", `/projects/${encodeURIComponent(id)}/members`, { username }),
  rotateWebhookSecret: (id: string) => call<WebhookSecret>("POST", `/projects/${encodeURIComponent(id)}/webhook-secret`),
  keys: (id: string, cursor?: string | null) =>
    call<Page<ApiKey>>("GET", `/projects/${encodeURIComponent(id)}/keys`, undefined, { cursor, limit: 100 }),
  createKey: (id: string, body: { name: string; scopes: KeyScope[]; expires_at?: string }) =>
    call<ApiKeyCreated>("POST", `/projects/${encodeURIComponent(id)}/keys`, body),
  revokeKey: (id: string, keyId: string) =>
    call<void>("DELETE", `/projects/${encodeURIComponent(id)}/keys/${encodeURIComponent(keyId)}`),
  debugtalk: (id: string) => call<Debugtalk>("GET", `/projects/${encodeURIComponent(id)}/debugtalk`),
  saveDebugtalk: (id: string, source: string) =>
    call<DebugtalkSaved>("PUT", `/projects/${encodeURIComponent(id)}/debugtalk`, new RawBody("text/x-python", source)),
  deleteDebugtalk: (id: string) => call<void>("DELETE", `/projects/${encodeURIComponent(id)}/debugtalk`),

  modules: (projectId: string, cursor?: string | null) =>
    call<Page<Module>>("GET", `/projects/${encodeURIComponent(projectId)}/modules`, undefined, { cursor, limit: 100 }),
  module: (id: string) => call<Module>("GET", `/modules/${encodeURIComponent(id)}`),
  createModule: (projectId: string, name: string) =>
    call<Module>("POST", `/projects/${encodeURIComponent(projectId)}/modules`, { name }),
  deleteModule: (id: string) => call<void>("DELETE", `/modules/${encodeURIComponent(id)}`),

  testcases: (moduleId: string, cursor?: string | null) =>
    call<Page<TestcaseSummary>>("GET", `/modules/${encodeURIComponent(moduleId)}/testcases`, undefined, { cursor, limit: 100 }),
  testcase: (id: string) => call<Testcase>("GET", `/testcases/${encodeURIComponent(id)}`),
  createTestcase: (moduleId: string, name: string, testcase: unknown) =>
    call<Testcase>("POST", `/modules/${encodeURIComponent(moduleId)}/testcases`, { name, testcase }),
  saveTestcase: (id: string, name: string, testcase: unknown) =>
    call<Testcase>("PUT", `/testcases/${encodeURIComponent(id)}`, { name, testcase }),
  deleteTestcase: (id: string) => call<void>("DELETE", `/testcases/${encodeURIComponent(id)}`),
  testcaseHistory: (id: string) => call<History>("GET", `/testcases/${encodeURIComponent(id)}/history`),
  debug: (projectId: string, testcase: unknown, environment?: string) =>
    call<DebugReport>("POST", "/testcases/debug", { project_id: projectId, testcase, environment: environment || undefined }),

  runModule: (id: string, environment?: string) =>
    call<{ report_id: string }>("POST", `/modules/${encodeURIComponent(id)}/runs`, { environment: environment || undefined }),
  runProject: (id: string, environment?: string) =>
    call<{ report_id: string }>("POST", `/projects/${encodeURIComponent(id)}/runs`, { environment: environment || undefined }),
  runTestcase: (id: string, environment?: string) =>
    call<{ report_id: string }>("POST", `/testcases/${encodeURIComponent(id)}/runs`, { environment: environment || undefined }),
  reports: (projectId: string, query: { cursor?: string | null; limit?: number } = {}) =>
    call<Page<ReportSummary>>("GET", `/projects/${encodeURIComponent(projectId)}/reports`, undefined, query),
  report: (id: string) => call<Report>("GET", `/reports/${encodeURIComponent(id)}`),
  junitUrl: (id: string) => `${apiRoot}/reports/${encodeURIComponent(id)}/junit`,

  previewImport: (into: "modules" | "projects", id: string, source: string, options: ImportOptions) =>
    call<ImportPreview>("POST", `/${into}/${encodeURIComponent(id)}/import`, importSource(source), { ...options, dry_run: 1 }),
  runImport: (into: "modules" | "projects", id: string, source: string, options: ImportOptions) =>
    call<ImportResult>("POST", `/${into}/${encodeURIComponent(id)}/import`, importSource(source), { ...options }),
  syncModule: (id: string) => call<SyncResult>("POST", `/modules/${encodeURIComponent(id)}/import/sync`),

  tasks: (query: { project_id?: string; name?: string; cursor?: string | null; include?: "history" } = {}) =>
    call<Page<Task>>("GET", "/tasks", undefined, query),
  task: (id: string) => call<Task>("GET", `/tasks/${encodeURIComponent(id)}`),
  createTask: (body: Partial<Task>) => call<Task>("POST", "/tasks", body),
  updateTask: (id: string, patch: Partial<Task>) => call<Task>("PATCH", `/tasks/${encodeURIComponent(id)}`, patch),
  deleteTask: (id: string) => call<void>("DELETE", `/tasks/${encodeURIComponent(id)}`),
  taskHistory: (id: string) => call<History>("GET", `/tasks/${encodeURIComponent(id)}/history`),
  runTask: (id: string) => call<{ report_id: string }>("POST", `/tasks/${encodeURIComponent(id)}/runs`),
};

// Projects: list (search, create), one project (modules, reports, settings), one module.
// Their Import action opens pages/imports.tsx.
// The project's API keys and debugtalk.py tabs are pages/keys.tsx and pages/debugtalk.tsx.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, type Environment, type Module, type Project, type ReportSummary } from "../api";
import {
  ConfirmDialog, Empty, ErrorNote, Field, fieldErrors, type FormEvent, Link, Loading, PageTitle, Select, useLoad,
} from "../components";
import { t } from "../i18n";
import { navigate } from "../router";
import { ReportTable } from "./dashboard";

export function ProjectsPage() {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [cursor, setCursor] = useState<string | null>(null);
  const [shown, setShown] = useState<Project[]>([]);
  const list = useLoad(async () => {
    const page = await api.projects({ name: query, cursor, limit: 20 });
    setShown((before) => (cursor ? [...before, ...page.items] : page.items));
    return page;
  }, [query, cursor]);
  const [name, setName] = useState("");
  const [createError, setCreateError] = useState<unknown>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setCreateError(null);
    try {
      const project = await api.createProject(name);
      navigate(`/projects/${project.id}`);
    } catch (failure) {
      setCreateError(failure);
    }
  }

  return (
    <main id="main">
      <PageTitle title={t("projects.title")} />
      <form class="inline" onSubmit={create} noValidate aria-label={t("projects.create")}>
        <Field label={t("projects.newName")} name="project-name" value={name} onInput={setName} required
          error={fieldErrors(createError).name} />
        <button type="submit" class="primary">{t("projects.create")}</button>
      </form>
      {createError && !fieldErrors(createError).name ? <ErrorNote error={createError} /> : null}
      <form class="inline" role="search" onSubmit={(event) => { event.preventDefault(); setCursor(null); setQuery(search.trim()); }}>
        <Field label={t("projects.search")} name="search" type="search" value={search} onInput={setSearch} />
        <button type="submit">{t("action.search")}</button>
      </form>
      <ErrorNote error={list.error} onRetry={list.reload} />
      {list.loading && !shown.length && <Loading />}
      {!list.loading && !list.error && !shown.length && <Empty text={query ? t("projects.noMatch") : t("projects.empty")} />}
      {shown.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr>
              <th scope="col">{t("projects.name")}</th><th scope="col">{t("projects.modules")}</th>
              <th scope="col">{t("projects.testcases")}</th>
            </tr></thead>
            <tbody>
              {shown.map((project) => (
                <tr key={project.id}>
                  <td><Link to={`/projects/${project.id}`}>{project.name}</Link></td>
                  <td>{project.module_count}</td>
                  <td>{project.testcase_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data?.next_cursor && (
        <button type="button" onClick={() => setCursor(list.data!.next_cursor)}>{t("action.more")}</button>
      )}
    </main>
  );
}

type ProjectTab = "modules" | "reports" | "keys" | "debugtalk" | "settings";

/** A loaded project page's head: the crumb back to the list, its name (with any actions) and its tabs. */
export function ProjectHeader(props: { project: Project; current: ProjectTab; children?: ComponentChildren }) {
  return (
    <>
      <p class="crumbs"><Link to="/projects">{t("projects.title")}</Link></p>
      <PageTitle title={props.project.name}>{props.children}</PageTitle>
      <ProjectTabs project={props.project} current={props.current} />
    </>
  );
}

export function ProjectTabs(props: { project: Project; current: ProjectTab }) {
  const tabs: [typeof props.current, string, string][] = [
    ["modules", `/projects/${props.project.id}`, t("project.modules")],
    ["reports", `/projects/${props.project.id}/reports`, t("project.reports")],
    ["debugtalk", `/projects/${props.project.id}/debugtalk`, t("project.debugtalk")],
    ["keys", `/projects/${props.project.id}/keys`, t("project.keys")],
    ["settings", `/projects/${props.project.id}/settings`, t("project.settings")],
  ];
  return (
    <nav class="tabs" aria-label={t("project.sections")}>
      {tabs.map(([key, to, label]) => (
        <Link key={key} to={to} class={key === props.current ? "tab current" : "tab"}
          aria-current={key === props.current ? "page" : undefined}>{label}</Link>
      ))}
    </nav>
  );
}

export function environmentOptions(project: Project | null) {
  return [{ value: "", label: t("env.none") },
    ...Object.keys(project?.environments ?? {}).map((name) => ({ value: name, label: name }))];
}

/** Start a run and open its report; a refusal goes to `onError` (cleared first). */
export async function runAndOpenReport(start: () => Promise<{ report_id: string }>, onError: (error: unknown) => void) {
  onError(null);
  try {
    const queued = await start();
    navigate(`/reports/${queued.report_id}`);
  } catch (failure) {
    onError(failure);
  }
}

export function ProjectPage(props: { id: string }) {
  const project = useLoad(() => api.project(props.id), [props.id]);
  const modules = useLoad(() => api.modules(props.id), [props.id]);
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const module = await api.createModule(props.id, name);
      setName("");
      modules.setData({ items: [...(modules.data?.items ?? []), module], next_cursor: modules.data?.next_cursor ?? null });
    } catch (failure) {
      setError(failure);
    }
  }

  if (project.error) return <main id="main"><ErrorNote error={project.error} onRetry={project.reload} /></main>;
  if (!project.data) return <main id="main"><Loading /></main>;
  return (
    <main id="main">
      <ProjectHeader project={project.data} current="modules">
        <Link to={`/projects/${props.id}/import`} class="button">{t("import.action")}</Link>
      </ProjectHeader>
      <form class="inline" onSubmit={create} noValidate aria-label={t("modules.create")}>
        <Field label={t("modules.newName")} name="module-name" value={name} onInput={setName} required
          error={fieldErrors(error).name} />
        <button type="submit" class="primary">{t("modules.create")}</button>
      </form>
      {error && !fieldErrors(error).name ? <ErrorNote error={error} /> : null}
      {modules.loading && <Loading />}
      <ErrorNote error={modules.error} onRetry={modules.reload} />
      {modules.data && (modules.data.items.length ? (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">{t("modules.name")}</th><th scope="col">{t("projects.testcases")}</th></tr></thead>
            <tbody>
              {modules.data.items.map((module: Module) => (
                <tr key={module.id}>
                  <td><Link to={`/modules/${module.id}`}>{module.name}</Link></td>
                  <td>{module.testcase_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : <Empty text={t("modules.empty")} />)}
    </main>
  );
}

export function ProjectReportsPage(props: { id: string }) {
  const project = useLoad(() => api.project(props.id), [props.id]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [shown, setShown] = useState<ReportSummary[]>([]);
  const reports = useLoad(async () => {
    const page = await api.reports(props.id, { cursor, limit: 20 });
    setShown((before) => (cursor ? [...before, ...page.items] : page.items));
    return page;
  }, [props.id, cursor]);
  return (
    <main id="main">
      <p class="crumbs"><Link to="/projects">{t("projects.title")}</Link></p>
      <PageTitle title={project.data?.name ?? t("project.reports")} />
      {project.data && <ProjectTabs project={project.data} current="reports" />}
      <ErrorNote error={reports.error ?? project.error} onRetry={reports.reload} />
      {reports.loading && !shown.length && <Loading />}
      {!reports.loading && !shown.length && !reports.error && <Empty text={t("reports.empty")} />}
      {shown.length > 0 && <ReportTable reports={shown} />}
      {reports.data?.next_cursor && <button type="button" onClick={() => setCursor(reports.data!.next_cursor)}>{t("action.more")}</button>}
    </main>
  );
}

function RenameProject(props: { project: Project; onSaved: (project: Project) => void }) {
  const [name, setName] = useState(props.project.name);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      props.onSaved(await api.updateProject(props.project.id, { name }));
      setSaved(true);
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <form class="inline" onSubmit={save} noValidate aria-label={t("settings.rename")}>
      <Field label={t("settings.name")} name="rename" value={name} onInput={(value) => { setName(value); setSaved(false); }}
        error={fieldErrors(error).name} />
      <button type="submit">{t("settings.rename")}</button>
      {saved && <span role="status" class="ok">{t("state.saved")}</span>}
      {error && !fieldErrors(error).name ? <ErrorNote error={error} /> : null}
    </form>
  );
}

function Members(props: { project: Project }) {
  const members = useLoad(() => api.members(props.project.id), [props.project.id]);
  const [username, setUsername] = useState("");
  const [error, setError] = useState<unknown>(null);
  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.addMember(props.project.id, username);
      setUsername("");
      members.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  async function remove(name: string) {
    setError(null);
    try {
      await api.removeMember(props.project.id, name);
      members.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <section>
      <h2>{t("settings.members")}</h2>
      {members.loading && <Loading />}
      <ErrorNote error={members.error} onRetry={members.reload} />
      <ul class="plain">
        {members.data?.items.map((member) => (
          <li key={member.username}>
            <span>{member.username}</span> <span class="muted">{member.role}</span>
            {member.role !== "owner" && (
              <button type="button" class="small" onClick={() => remove(member.username)}
                aria-label={t("settings.removeMember", { name: member.username })}>{t("action.remove")}</button>
            )}
          </li>
        ))}
      </ul>
      <form class="inline" onSubmit={add} noValidate aria-label={t("settings.addMember")}>
        <Field label={t("settings.username")} name="member" value={username} onInput={setUsername}
          error={fieldErrors(error).username} />
        <button type="submit">{t("settings.addMember")}</button>
      </form>
      {error && !fieldErrors(error).username ? <ErrorNote error={error} /> : null}
    </section>
  );
}

type EnvRow = { name: string; base_url: string; variables: string };

function toRows(environments: Record<string, Environment>): EnvRow[] {
  return Object.entries(environments).map(([name, env]) => ({
    name, base_url: env.base_url, variables: JSON.stringify(env.variables ?? {}, null, 0),
  }));
}

function Environments(props: { project: Project; onSaved: (project: Project) => void }) {
  const [rows, setRows] = useState<EnvRow[]>(toRows(props.project.environments));
  const [error, setError] = useState<unknown>(null);
  const [localError, setLocalError] = useState<string>("");
  const [saved, setSaved] = useState(false);
  const fields = fieldErrors(error);
  const update = (index: number, key: keyof EnvRow, value: string) => {
    setSaved(false);
    setRows(rows.map((row, i) => (i === index ? { ...row, [key]: value } : row)));
  };
  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setLocalError("");
    const environments: Record<string, Environment> = {};
    for (const row of rows) {
      let variables: Record<string, unknown> = {};
      try {
        variables = row.variables.trim() ? JSON.parse(row.variables) : {};
      } catch {
        setLocalError(t("env.badVariables", { name: row.name }));
        return;
      }
      environments[row.name] = { base_url: row.base_url, variables };
    }
    try {
      const project = await api.updateProject(props.project.id, { environments });
      props.onSaved(project);
      setRows(toRows(project.environments));
      setSaved(true);
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <section>
      <h2>{t("settings.environments")}</h2>
      <form onSubmit={save} noValidate aria-label={t("settings.environments")}>
        {rows.length === 0 && <p class="muted">{t("env.empty")}</p>}
        {rows.map((row, index) => (
          <fieldset class="env" key={index}>
            <legend>{row.name || t("env.new")}</legend>
            <Field label={t("env.name")} name={`env-${index}-name`} value={row.name}
              onInput={(value) => update(index, "name", value)} error={fields[`environments.${row.name}`]} />
            <Field label={t("env.baseUrl")} name={`env-${index}-base_url`} value={row.base_url}
              onInput={(value) => update(index, "base_url", value)} placeholder="https://api.example.com"
              error={fields[`environments.${row.name}.base_url`]} />
            <Field label={t("env.variables")} name={`env-${index}-variables`} value={row.variables}
              onInput={(value) => update(index, "variables", value)} placeholder='{"token": "abc"}'
              error={fields[`environments.${row.name}.variables`]} />
            <button type="button" class="small" onClick={() => setRows(rows.filter((_, i) => i !== index))}>
              {t("env.remove", { name: row.name || t("env.new") })}</button>
          </fieldset>
        ))}
        <div class="actions">
          <button type="button" onClick={() => setRows([...rows, { name: "", base_url: "", variables: "{}" }])}>{t("env.add")}</button>
          <button type="submit" class="primary">{t("env.save")}</button>
          {saved && <span role="status" class="ok">{t("state.saved")}</span>}
        </div>
        {localError && <p class="field-error" role="alert">{localError}</p>}
        {error && <ErrorNote error={error} />}
      </form>
    </section>
  );
}

function Webhook(props: { project: Project }) {
  const [secret, setSecret] = useState<string>("");
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const hookUrl = new URL(`../hooks/projects/${props.project.id}/runs`, document.baseURI).href;
  const example = [
    `SECRET='${secret || "<secret>"}'`,
    `BODY='{}'`,
    `TS=$(date +%s)`,
    `SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')`,
    `curl -X POST '${hookUrl}' -H 'Content-Type: application/json' \\`,
    `  -H "X-Hat-Timestamp: $TS" -H "X-Hat-Signature: sha256=$SIG" -d "$BODY"`,
  ].join("\n");
  async function rotate() {
    setError(null);
    try {
      setSecret((await api.rotateWebhookSecret(props.project.id)).secret);
      setCopied(false);
    } catch (failure) {
      setError(failure);
    }
  }
  async function copy(text: string) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <section>
      <h2>{t("settings.webhook")}</h2>
      <p class="muted">{t("webhook.explain")}</p>
      <button type="button" onClick={rotate}>{t("webhook.rotate")}</button>
      <ErrorNote error={error} />
      {secret && (
        <div class="secret">
          <p>{t("webhook.shownOnce")}</p>
          <code data-testid="webhook-secret">{secret}</code>
          <button type="button" class="small" onClick={() => copy(secret)}>{copied ? t("webhook.copied") : t("webhook.copy")}</button>
        </div>
      )}
      <h3>{t("webhook.example")}</h3>
      <pre class="code">{example}</pre>
      <button type="button" class="small" onClick={() => copy(example)}>{t("webhook.copyExample")}</button>
    </section>
  );
}

export function ProjectSettingsPage(props: { id: string }) {
  const project = useLoad(() => api.project(props.id), [props.id]);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function remove() {
    setConfirming(false);
    try {
      await api.deleteProject(props.id);
      navigate("/projects", { replace: true });
    } catch (failure) {
      setError(failure);
    }
  }
  if (project.error) return <main id="main"><ErrorNote error={project.error} onRetry={project.reload} /></main>;
  if (!project.data) return <main id="main"><Loading /></main>;
  const data = project.data;
  return (
    <main id="main">
      <ProjectHeader project={data} current="settings" />
      <RenameProject project={data} onSaved={project.setData} />
      <Environments project={data} onSaved={project.setData} />
      <Members project={data} />
      <Webhook project={data} />
      <section>
        <h2>{t("settings.danger")}</h2>
        <button type="button" class="danger" onClick={() => setConfirming(true)}>{t("settings.delete")}</button>
        <ErrorNote error={error} />
      </section>
      <ConfirmDialog open={confirming} title={t("settings.deleteTitle", { name: data.name })}
        text={t("settings.deleteText", { name: data.name, modules: data.module_count, testcases: data.testcase_count })}
        confirm={t("settings.delete")} onConfirm={remove} onClose={() => setConfirming(false)} />
    </main>
  );
}

export function ModulePage(props: { id: string }) {
  const module = useLoad(() => api.module(props.id), [props.id]);
  const project = useLoad(async () => (module.data ? api.project(module.data.project_id) : null), [module.data?.project_id]);
  const testcases = useLoad(() => api.testcases(props.id), [props.id]);
  const [environment, setEnvironment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const run = () => runAndOpenReport(() => api.runModule(props.id, environment), setError);
  async function remove() {
    setConfirming(false);
    try {
      await api.deleteModule(props.id);
      navigate(`/projects/${module.data!.project_id}`, { replace: true });
    } catch (failure) {
      setError(failure);
    }
  }
  if (module.error) return <main id="main"><ErrorNote error={module.error} onRetry={module.reload} /></main>;
  if (!module.data) return <main id="main"><Loading /></main>;
  return (
    <main id="main">
      <p class="crumbs">
        <Link to="/projects">{t("projects.title")}</Link> › {project.data &&
          <Link to={`/projects/${project.data.id}`}>{project.data.name}</Link>}
      </p>
      <PageTitle title={module.data.name}>
        <Link to={`/modules/${props.id}/import`} class="button">{t("import.action")}</Link>
        <Link to={`/modules/${props.id}/new`} class="button primary">{t("testcases.new")}</Link>
      </PageTitle>
      <div class="inline">
        <Select label={t("env.label")} name="run-environment" value={environment} onChange={setEnvironment}
          options={environmentOptions(project.data)} />
        <button type="button" class="primary" onClick={run} disabled={!testcases.data?.items.length}>{t("modules.run")}</button>
        <button type="button" class="danger" onClick={() => setConfirming(true)}>{t("modules.delete")}</button>
      </div>
      <ErrorNote error={error} />
      {testcases.loading && <Loading />}
      <ErrorNote error={testcases.error} onRetry={testcases.reload} />
      {testcases.data && (testcases.data.items.length ? (
        <ul class="list">
          {testcases.data.items.map((testcase) => (
            <li key={testcase.id}><Link to={`/testcases/${testcase.id}`}>{testcase.name}</Link>
              <span class="muted"> {t("testcases.steps", { count: testcase.step_count })}</span></li>
          ))}
        </ul>
      ) : <Empty text={t("testcases.empty")} />)}
      <ConfirmDialog open={confirming} title={t("modules.deleteTitle", { name: module.data.name })}
        text={t("modules.deleteText", { name: module.data.name, testcases: module.data.testcase_count })}
        confirm={t("modules.delete")} onConfirm={remove} onClose={() => setConfirming(false)} />
    </main>
  );
}

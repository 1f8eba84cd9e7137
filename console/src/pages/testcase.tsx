// The test case page: a name, the document in a real editor (YAML or JSON), errors on their
// lines, import from a file, Debug beside the editor, Save; its recent runs above.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type DebugReport, type Testcase } from "../api";
import { ErrorNote, Field, HistoryPanel, Link, Loading, PageTitle, Select, useLoad } from "../components";
import type { EditorHandle, Format, Marked } from "../editor";
import { t } from "../i18n";
import { navigate } from "../router";
import { environmentOptions } from "./projects";
import { ReportBody } from "./report";

type EditorModule = typeof import("../editor");

const STARTER = {
  config: { name: "new test case", base_url: "${base_url}" },
  teststeps: [{ name: "get home", request: { method: "GET", url: "/" }, validate: [{ eq: ["status_code", 200] }] }],
};

export function TestcasePage(props: { id: string | null; moduleId: string | null }) {
  const existing = useLoad(async () => (props.id ? api.testcase(props.id) : null), [props.id]);
  const moduleId = existing.data?.module_id ?? props.moduleId;
  const module = useLoad(async () => (moduleId ? api.module(moduleId) : null), [moduleId]);
  const project = useLoad(async () => (module.data ? api.project(module.data.project_id) : null), [module.data?.project_id]);
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const tools = useRef<EditorModule | null>(null);
  const [format, setFormat] = useState<Format>("yaml");
  const [name, setName] = useState("");
  const [environment, setEnvironment] = useState("");
  const [marked, setMarked] = useState<Marked[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [syntax, setSyntax] = useState("");
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const [debugReport, setDebugReport] = useState<DebugReport | null>(null);
  const [editorFailed, setEditorFailed] = useState(false);

  const ready = !existing.loading && (props.id ? existing.data !== null : true);
  useEffect(() => {
    if (!ready || !host.current) return;
    let cancelled = false;
    const document: Testcase["testcase"] = existing.data?.testcase ?? STARTER;
    setName(existing.data?.name ?? "");
    import("../editor").then((loaded) => {
      if (cancelled || !host.current) return;
      tools.current = loaded;
      editor.current = loaded.createEditor(host.current, loaded.render(document, format), format, () => setStatus(""));
    }, () => setEditorFailed(true));
    return () => { cancelled = true; editor.current?.destroy(); editor.current = null; };
  }, [ready, existing.data?.id]);

  function documentValue(): unknown | undefined {
    if (!editor.current || !tools.current) return undefined;
    setSyntax("");
    const parsed = tools.current.parse(editor.current.text(), format);
    if ("error" in parsed) {
      setSyntax(t("editor.syntax", { line: parsed.line, message: parsed.error }));
      setMarked([]);
      return undefined;
    }
    return parsed.value;
  }

  function showFailure(failure: unknown) {
    if (failure instanceof ApiError && Object.keys(failure.fields).length && editor.current) {
      setMarked(editor.current.mark(failure.fields));
      setError(null);
    } else {
      setError(failure);
    }
  }

  function clearMarks() {
    setMarked([]);
    setError(null);
    editor.current?.mark({});
  }

  async function save() {
    const value = documentValue();
    if (value === undefined || !moduleId) return;
    clearMarks();
    setBusy(true);
    try {
      const testcaseName = name || String((value as { config?: { name?: string } })?.config?.name ?? "test case");
      if (props.id) {
        await api.saveTestcase(props.id, testcaseName, value);
        setStatus(t("state.saved"));
      } else {
        const created = await api.createTestcase(moduleId, testcaseName, value);
        navigate(`/testcases/${created.id}`, { replace: true });
      }
    } catch (failure) {
      showFailure(failure);
    } finally {
      setBusy(false);
    }
  }

  async function debug() {
    const value = documentValue();
    if (value === undefined || !module.data) return;
    clearMarks();
    setBusy(true);
    setDebugReport(null);
    try {
      setDebugReport(await api.debug(module.data.project_id, value, environment));
    } catch (failure) {
      showFailure(failure);
    } finally {
      setBusy(false);
    }
  }

  function switchFormat(next: Format) {
    const value = documentValue();
    if (value === undefined || !editor.current || !tools.current) return;
    editor.current.replace(tools.current.render(value, next));
    editor.current.setFormat(next);
    setFormat(next);
  }

  async function load(file: File) {
    const text = await file.text();
    const next: Format = /\.json$/i.test(file.name) || text.trimStart().startsWith("{") ? "json" : "yaml";
    editor.current?.replace(text);
    editor.current?.setFormat(next);
    setFormat(next);
    clearMarks();
    setStatus(t("editor.imported", { name: file.name }));
  }

  if (existing.error) return <main id="main"><ErrorNote error={existing.error} onRetry={existing.reload} /></main>;
  return (
    <main id="main" class="wide">
      <p class="crumbs">
        <Link to="/projects">{t("projects.title")}</Link>
        {project.data && <> › <Link to={`/projects/${project.data.id}`}>{project.data.name}</Link></>}
        {module.data && <> › <Link to={`/modules/${module.data.id}`}>{module.data.name}</Link></>}
      </p>
      <PageTitle title={props.id ? (existing.data?.name ?? t("editor.title")) : t("testcases.new")} />
      {props.id && <HistoryPanel id={props.id} load={() => api.testcaseHistory(props.id!)} />}
      <div class="editor-bar">
        <Field label={t("editor.name")} name="testcase-name" value={name} onInput={setName}
          placeholder={t("editor.namePlaceholder")} />
        <Select label={t("editor.format")} name="format" value={format} onChange={(value) => switchFormat(value as Format)}
          options={[{ value: "yaml", label: "YAML" }, { value: "json", label: "JSON" }]} />
        <Select label={t("env.label")} name="debug-environment" value={environment} onChange={setEnvironment}
          options={environmentOptions(project.data)} />
        <div class="field">
          <label for="import-file">{t("editor.import")}</label>
          <input id="import-file" type="file" accept=".yml,.yaml,.json,application/json,application/yaml"
            onChange={(event) => { const file = (event.target as HTMLInputElement).files?.[0]; if (file) void load(file); }} />
        </div>
      </div>
      <div class="editor-layout">
        <section class="editor-pane" aria-label={t("editor.title")}>
          {!ready && <Loading />}
          {editorFailed && <p class="field-error">{t("error.generic")}</p>}
          <div ref={host} class="editor-host" data-label={t("editor.title")}
            onDragOver={(event) => event.preventDefault()}
            onDrop={(event) => {
              const file = event.dataTransfer?.files?.[0];
              if (file) { event.preventDefault(); event.stopPropagation(); void load(file); }
            }} />
          <p class="hint">{t("editor.dropHint")}</p>
          {syntax && <p class="field-error" role="alert">{syntax}</p>}
          {marked.length > 0 && (
            <ul class="problems" role="alert" aria-label={t("editor.problems")}>
              {marked.map((item) => (
                <li key={item.path} data-line={item.line}>
                  {t("editor.onLine", { line: item.line })} <code>{item.path}</code>: {item.message}
                </li>
              ))}
            </ul>
          )}
          <ErrorNote error={error} />
          <div class="actions">
            <button type="button" onClick={debug} disabled={busy || !module.data}>{t("editor.debug")}</button>
            <button type="button" class="primary" onClick={save} disabled={busy || !moduleId}>{t("action.save")}</button>
            {busy && <span role="status">{t("state.working")}</span>}
            {status && <span role="status" class="ok">{status}</span>}
          </div>
        </section>
        <section class="debug-pane" aria-label={t("editor.debugReport")}>
          <h2>{t("editor.debugReport")}</h2>
          {debugReport ? <ReportBody report={debugReport} /> : <p class="muted">{t("editor.debugHint")}</p>}
        </section>
      </div>
    </main>
  );
}

// A project's debugtalk.py (docs/sandbox.md): the source in the lazily loaded editor, Save
// (its version and the functions found), a syntax error marked on its line, Delete.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Debugtalk, type DebugtalkSaved } from "../api";
import { ConfirmDialog, Empty, ErrorNote, Loading, useLoad } from "../components";
import type { SourceHandle } from "../editor";
import { formatTime, t } from "../i18n";
import { ProjectHeader } from "./projects";

type Problem = { line: number; message: string };

/** The project's debugtalk.py, or null when it has none (the API's 404 for it). */
async function loadDebugtalk(projectId: string): Promise<Debugtalk | null> {
  try {
    return await api.debugtalk(projectId);
  } catch (failure) {
    if (failure instanceof ApiError && failure.code === "debugtalk_not_found") return null;
    throw failure;
  }
}

function Saved(props: { saved: DebugtalkSaved }) {
  const { saved } = props;
  return (
    <section class="debugtalk-facts" aria-labelledby="debugtalk-functions">
      <p class="muted" data-testid="debugtalk-version">
        {t("debugtalk.version", { version: saved.version, time: formatTime(saved.updated_at), size: saved.size })}</p>
      <h2 id="debugtalk-functions">{t("debugtalk.functions")}</h2>
      {saved.functions.length ? (
        <ul class="plain functions" data-testid="debugtalk-functions">
          {saved.functions.map((name) => <li key={name}><code>{name}</code></li>)}
        </ul>
      ) : <p class="muted">{t("debugtalk.noFunctions")}</p>}
    </section>
  );
}

export function DebugtalkPage(props: { id: string }) {
  const project = useLoad(() => api.project(props.id), [props.id]);
  const current = useLoad(() => loadDebugtalk(props.id), [props.id]);
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<SourceHandle | null>(null);
  const lineOf = useRef<((path: string) => number | null) | null>(null);
  const [saved, setSaved] = useState<DebugtalkSaved | null>(null);
  const [status, setStatus] = useState("");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [editorFailed, setEditorFailed] = useState(false);

  const ready = !current.loading && !current.error && project.data !== null;
  useEffect(() => {
    if (!ready || !host.current) return;
    let cancelled = false;
    setSaved(current.data);
    import("../editor").then((loaded) => {
      if (cancelled || !host.current) return;
      lineOf.current = loaded.fieldLine;
      editor.current = loaded.createSourceEditor(host.current, current.data?.source ?? "", () => setStatus(""));
    }, () => setEditorFailed(true));
    return () => { cancelled = true; editor.current?.destroy(); editor.current = null; };
  }, [ready, current.data?.version]);

  function clear() {
    setProblems([]);
    setError(null);
    setStatus("");
    editor.current?.markLines([]);
  }

  async function save() {
    if (!editor.current) return;
    clear();
    setBusy(true);
    try {
      const result = await api.saveDebugtalk(props.id, editor.current.text());
      setSaved(result);
      setStatus(t("debugtalk.saved", { version: result.version }));
    } catch (failure) {
      const found = failure instanceof ApiError && lineOf.current
        ? Object.entries(failure.fields).map(([path, message]) => ({ line: lineOf.current!(path), message }))
          .filter((problem): problem is Problem => problem.line !== null)
        : [];
      if (found.length) {
        setProblems(found);
        editor.current?.markLines(found);
      } else {
        setError(failure);
      }
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setConfirming(false);
    clear();
    try {
      await api.deleteDebugtalk(props.id);
      setSaved(null);
      editor.current?.replace("");
      setStatus(t("debugtalk.deleted"));
    } catch (failure) {
      setError(failure);
    }
  }

  if (project.error) return <main id="main"><ErrorNote error={project.error} onRetry={project.reload} /></main>;
  if (!project.data) return <main id="main"><Loading /></main>;
  return (
    <main id="main" class="wide">
      <ProjectHeader project={project.data} current="debugtalk" />
      <p class="muted">{t("debugtalk.explain")}</p>
      {current.loading && <Loading />}
      <ErrorNote error={current.error} onRetry={current.reload} />
      {ready && !saved && <Empty text={t("debugtalk.none")} />}
      <div class="editor-layout">
        <section class="editor-pane" aria-label={t("debugtalk.editor")}>
          {editorFailed && <p class="field-error">{t("error.generic")}</p>}
          <div ref={host} class="editor-host" data-label={t("debugtalk.editor")} />
          {problems.length > 0 && (
            <ul class="problems" role="alert" aria-label={t("editor.problems")}>
              {problems.map((problem) => <li key={problem.line} data-line={problem.line}>{problem.message}</li>)}
            </ul>
          )}
          <ErrorNote error={error} />
          <div class="actions">
            <button type="button" class="primary" onClick={save} disabled={busy || !ready}>{t("action.save")}</button>
            {saved && <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={busy}>
              {t("debugtalk.delete")}</button>}
            {busy && <span role="status">{t("state.working")}</span>}
            {status && <span role="status" class="ok">{status}</span>}
          </div>
        </section>
        <div>{saved && <Saved saved={saved} />}</div>
      </div>
      <ConfirmDialog open={confirming} title={t("debugtalk.deleteTitle")} text={t("debugtalk.deleteText")}
        confirm={t("debugtalk.delete")} onConfirm={remove} onClose={() => setConfirming(false)} />
    </main>
  );
}

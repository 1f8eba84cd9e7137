// Import into a module or into new modules of a project (docs/imports.md): a file or pasted
// text (a Postman collection, HAR, OpenAPI document or cURL commands), the format detected or
// chosen, Preview (a dry run: the test cases it would make and the report), Import (saved,
// the test cases made linked). A module can also import from, and re-sync with, an OpenAPI URL.
// Its own chunk: app.tsx loads it on first use.
import { useState } from "preact/hooks";
import {
  api, ApiError, type ImportedEnvironment, type ImportFormat, type ImportOptions, type ImportPreview, type ImportReport,
  type ImportResult, type SyncResult,
} from "../api";
import { errorText, type FormEvent, Link, Loading, PageTitle, Select, useLoad } from "../components";
import { t, type TextKey } from "../i18n";

type Into = "modules" | "projects";
const FORMATS: ImportFormat[] = ["postman", "har", "openapi", "curl"];
// A format's own option: Postman's folders, OpenAPI's testcase per operation or per tag.
const OPTION_OF: Partial<Record<ImportFormat, { name: "folders" | "per"; values: string[] }>> = {
  postman: { name: "folders", values: ["testcases", "modules", "collection"] },
  openapi: { name: "per", values: ["operation", "tag"] },
};
const MAX_FILE_BYTES = 5 * 1024 * 1024; // larger files are not read into the page (the API takes 1 MiB)

/** The API's refusal: its message, the fields it names, and what a 413 means. */
function ImportError(props: { error: unknown }) {
  if (!props.error) return null;
  const error = props.error;
  const fields = error instanceof ApiError ? Object.entries(error.fields) : [];
  const tooLarge = error instanceof ApiError && error.status === 413;
  return (
    <div class="state error" role="alert" data-testid="import-error">
      <p>{tooLarge ? t("import.tooLarge") : errorText(error)}</p>
      {fields.length > 0 && (
        <ul class="problems">{fields.map(([field, message]) => <li key={field}><code>{field}</code>: {message}</li>)}</ul>
      )}
    </div>
  );
}

/** The conversion report: warnings and what was not converted (with why) open, the rest folded. */
export function ReportView(props: { report: ImportReport }) {
  const { converted, warnings, not_converted: skipped } = props.report;
  return (
    <section class="import-report" data-testid="import-report" aria-labelledby="import-report-title">
      <h2 id="import-report-title">{t("import.report")}</h2>
      <h3>{t("import.warnings", { count: warnings.length })}</h3>
      {warnings.length ? (
        <ul class="report-list warnings" data-testid="import-warnings">
          {warnings.map((entry, index) => <li key={index}><strong>{entry.what}</strong>: {entry.message}</li>)}
        </ul>
      ) : <p class="muted">{t("import.none")}</p>}
      <h3>{t("import.notConverted", { count: skipped.length })}</h3>
      {skipped.length ? (
        <ul class="report-list skipped" data-testid="import-not-converted">
          {skipped.map((entry, index) => <li key={index}><strong>{entry.what}</strong>: {entry.why}</li>)}
        </ul>
      ) : <p class="muted">{t("import.none")}</p>}
      {converted.length > 0 && (
        <details>
          <summary>{t("import.converted", { count: converted.length })}</summary>
          <ul class="report-list">
            {converted.map((entry, index) => <li key={index}>{entry.what} → {entry.into}</li>)}
          </ul>
        </details>
      )}
    </section>
  );
}

/** The project environment a Postman environment file went (or would go) into. */
function EnvironmentNote(props: { environment?: ImportedEnvironment | null }) {
  const environment = props.environment;
  if (!environment) return null;
  const names = (items: string[]) => (items.length ? items.join(", ") : "—");
  return (
    <p data-testid="import-environment">
      {t("import.environmentInto", { name: environment.name, variables: names(environment.variables),
        secrets: names(environment.secrets) })}
    </p>
  );
}

/** The source as sent: with an environment file, Postman's {"collection", "environment"} body. */
function withEnvironment(source: string, environmentFile: string): string {
  if (!environmentFile.trim()) return source;
  const read = (text: string, field: string) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiError(400, "invalid_field", t("import.notJson"), { [field]: t("import.notJson") });
    }
  };
  return JSON.stringify({ collection: read(source, "body"), environment: read(environmentFile, "environment") });
}

function PreviewView(props: { preview: ImportPreview; into: Into }) {
  const { testcases } = props.preview;
  return (
    <section aria-labelledby="import-preview-title">
      <h2 id="import-preview-title">
        {t("import.wouldMake", { count: testcases.length, format: props.preview.format })}</h2>
      {testcases.length > 0 && (
        <div class="table-wrap">
          <table data-testid="import-preview">
            <thead><tr>
              <th scope="col">{t("import.testcase")}</th>
              {props.into === "projects" && <th scope="col">{t("modules.name")}</th>}
              <th scope="col">{t("import.steps")}</th>
            </tr></thead>
            <tbody>
              {testcases.map((item) => (
                <tr key={`${item.group}/${item.name}`}>
                  <td>{item.name}</td>
                  {props.into === "projects" && <td>{item.group ?? "—"}</td>}
                  <td>{item.testcase.teststeps.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <EnvironmentNote environment={props.preview.environment} />
      <ReportView report={props.preview.report} />
    </section>
  );
}

function ResultView(props: { result: ImportResult }) {
  const { testcases, modules } = props.result;
  return (
    <section aria-labelledby="import-result-title">
      <h2 id="import-result-title">{t("import.made", { count: testcases.length })}</h2>
      {modules && modules.length > 0 && (
        <ul class="list" data-testid="import-modules">
          {modules.map((module) => <li key={module.id}><Link to={`/modules/${module.id}`}>{module.name}</Link></li>)}
        </ul>
      )}
      {testcases.length > 0 && (
        <ul class="list" data-testid="import-made">
          {testcases.map((testcase) => (
            <li key={testcase.id}><Link to={`/testcases/${testcase.id}`}>{testcase.name}</Link>
              <span class="muted"> {t("testcases.steps", { count: testcase.step_count })}</span></li>
          ))}
        </ul>
      )}
      <EnvironmentNote environment={props.result.environment} />
      <ReportView report={props.result.report} />
    </section>
  );
}

/** A module imported from an OpenAPI URL fetches it again (404 no_import_source otherwise). */
function Resync(props: { moduleId: string }) {
  const [result, setResult] = useState<SyncResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function sync() {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.syncModule(props.moduleId));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  const names = (items: string[]) => (items.length ? items.join(", ") : "—");
  return (
    <section aria-labelledby="import-sync-title">
      <h2 id="import-sync-title">{t("import.syncTitle")}</h2>
      <p class="muted">{t("import.syncExplain")}</p>
      <button type="button" onClick={sync} disabled={busy}>{t("import.sync")}</button>
      <ImportError error={error} />
      {result && (
        <div data-testid="import-sync">
          <dl class="facts">
            <dt>{t("import.sourceUrl")}</dt><dd>{result.source_url}</dd>
            <dt>{t("import.added")}</dt>
            <dd>{result.added.length ? result.added.map((testcase, index) => (
              <span key={testcase.id}>{index > 0 && ", "}<Link to={`/testcases/${testcase.id}`}>{testcase.name}</Link></span>
            )) : "—"}</dd>
            <dt>{t("import.updated")}</dt><dd>{names(result.updated)}</dd>
            <dt>{t("import.leftAlone")}</dt><dd>{names(result.left_alone)}</dd>
            <dt>{t("import.removed")}</dt><dd>{names(result.removed)}</dd>
          </dl>
          <ReportView report={result.report} />
        </div>
      )}
    </section>
  );
}

export function ImportPage(props: { into: Into; id: string }) {
  const target = useLoad(async () => {
    if (props.into === "projects") return { project: await api.project(props.id), module: null };
    const module = await api.module(props.id);
    return { project: await api.project(module.project_id), module };
  }, [props.into, props.id]);
  const [source, setSource] = useState("");
  const [format, setFormat] = useState<ImportFormat | "">("");
  const [option, setOption] = useState("");
  const [url, setUrl] = useState("");
  const [environmentFile, setEnvironmentFile] = useState("");
  const [environmentName, setEnvironmentName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const optionOf = format ? OPTION_OF[format] : undefined;

  function changed() { setPreview(null); setResult(null); setError(null); }

  async function pick(event: Event) {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (!file) return;
    changed();
    if (file.size > MAX_FILE_BYTES) {
      setError(new ApiError(413, "payload_too_large", t("import.tooLarge")));
      return;
    }
    setSource(await file.text());
  }

  const postman = format === "postman" || format === "";

  async function pickEnvironment(event: Event) {
    const file = (event.target as HTMLInputElement).files?.[0];
    changed();
    setEnvironmentFile(file && file.size <= MAX_FILE_BYTES ? await file.text() : "");
  }

  function options(): ImportOptions {
    const environment = postman && environmentFile.trim() ? environmentName.trim() : "";
    return {
      format, source_url: url.trim() || undefined,
      ...(optionOf && option ? { [optionOf.name]: option } : {}),
      ...(environment ? { environment } : {}),
    };
  }

  async function send(event: FormEvent | null, dryRun: boolean) {
    event?.preventDefault();
    setBusy(true);
    changed();
    try {
      const body = postman ? withEnvironment(source, environmentFile) : source;
      if (dryRun) setPreview(await api.previewImport(props.into, props.id, body, options()));
      else setResult(await api.runImport(props.into, props.id, body, options()));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  if (target.error) return <main id="main"><ImportError error={target.error} /></main>;
  if (!target.data) return <main id="main"><Loading /></main>;
  const { project, module } = target.data;
  const back = module ? `/modules/${module.id}` : `/projects/${project.id}`;
  return (
    <main id="main">
      <p class="crumbs">
        <Link to="/projects">{t("projects.title")}</Link> › <Link to={`/projects/${project.id}`}>{project.name}</Link>
        {module && <> › <Link to={back}>{module.name}</Link></>}
      </p>
      <PageTitle title={t(module ? "import.titleModule" : "import.titleProject", { name: module?.name ?? project.name })} />
      <p class="muted">{t(module ? "import.explainModule" : "import.explainProject")}</p>
      <form class="import-form" onSubmit={(event) => send(event, true)} noValidate aria-label={t("import.form")}>
        <div class="field">
          <label for="field-import-file">{t("import.file")}</label>
          <input id="field-import-file" name="import-file" type="file" onChange={pick}
            accept=".json,.yaml,.yml,.har,.txt,.sh,.curl,application/json,text/plain" />
        </div>
        <div class="field">
          <label for="field-import-source">{t("import.source")}</label>
          <textarea id="field-import-source" name="import-source" class="source" rows={12} spellcheck={false}
            value={source} placeholder={t("import.sourcePlaceholder")}
            onInput={(event) => { setSource((event.target as HTMLTextAreaElement).value); changed(); }} />
        </div>
        {module && (
          <div class="field">
            <label for="field-import-url">{t("import.url")}</label>
            <input id="field-import-url" name="import-url" type="url" value={url} placeholder="https://api.example.com/openapi.json"
              aria-describedby="field-import-url-hint"
              onInput={(event) => { setUrl((event.target as HTMLInputElement).value); changed(); }} />
            <p class="hint" id="field-import-url-hint">{t("import.urlHint")}</p>
          </div>
        )}
        <div class="inline">
          <Select label={t("import.format")} name="import-format" value={format}
            onChange={(value) => { setFormat(value as ImportFormat | ""); setOption(""); changed(); }}
            options={[{ value: "", label: t("import.detect") },
              ...FORMATS.map((name) => ({ value: name, label: t(`import.format.${name}` as TextKey) }))]} />
          {optionOf && (
            <Select label={t(`import.option.${optionOf.name}` as TextKey)} name="import-option" value={option}
              onChange={(value) => { setOption(value); changed(); }}
              options={[{ value: "", label: t("import.optionDefault") },
                ...optionOf.values.map((value) => ({ value, label: value }))]} />
          )}
        </div>
        {postman && (
          <fieldset class="import-environment">
            <legend>{t("import.environment")}</legend>
            <div class="field">
              <label for="field-import-environment-file">{t("import.environmentFile")}</label>
              <input id="field-import-environment-file" name="import-environment-file" type="file"
                accept=".json,application/json" onChange={pickEnvironment} />
            </div>
            <div class="field">
              <label for="field-import-environment">{t("import.environmentName")}</label>
              <input id="field-import-environment" name="import-environment" value={environmentName}
                aria-describedby="field-import-environment-hint" placeholder="staging"
                onInput={(event) => { setEnvironmentName((event.target as HTMLInputElement).value); changed(); }} />
              <p class="hint" id="field-import-environment-hint">{t("import.environmentHint")}</p>
            </div>
          </fieldset>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>{t("import.preview")}</button>
          <button type="button" class="primary" disabled={busy} onClick={() => send(null, false)}>{t("import.run")}</button>
          {busy && <span role="status">{t("state.working")}</span>}
          <Link to={back}>{t(module ? "import.backModule" : "import.backProject")}</Link>
        </div>
      </form>
      <ImportError error={error} />
      {preview && <PreviewView preview={preview} into={props.into} />}
      {result && <ResultView result={result} />}
      {module && <Resync moduleId={module.id} />}
    </main>
  );
}

// A project's API keys (docs/ci.md): the list with last use, create (name, scopes, optional
// expiry) with the key shown once, revoke with a confirmation.
import { useState } from "preact/hooks";
import { api, type ApiKey, type ApiKeyCreated, type KeyScope } from "../api";
import {
  ConfirmDialog, Empty, ErrorNote, Field, fieldErrors, type FormEvent, Loading, useLoad,
} from "../components";
import { formatTime, t } from "../i18n";
import { ProjectHeader } from "./projects";

const SCOPES: KeyScope[] = ["read", "run", "write"];

/** The API's message for the scopes field (`scopes`, or one item of it: `scopes[3]`). */
function scopesError(fields: Record<string, string>): string | undefined {
  return Object.entries(fields).find(([path]) => path === "scopes" || path.startsWith("scopes["))?.[1];
}

/** A date input's day as the instant it starts in the browser's time zone. */
function startOfDay(day: string): string {
  return new Date(`${day}T00:00:00`).toISOString();
}

function CreateKey(props: { projectId: string; onCreated: (key: ApiKeyCreated) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<KeyScope[]>(["read", "run"]);
  const [expires, setExpires] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fields = fieldErrors(error);
  const onScopes = scopesError(fields);
  const named = fields.name ?? onScopes ?? fields.expires_at;

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const created = await api.createKey(props.projectId, {
        name, scopes: SCOPES.filter((scope) => scopes.includes(scope)),
        expires_at: expires ? startOfDay(expires) : undefined,
      });
      setName("");
      setExpires("");
      props.onCreated(created);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={create} noValidate aria-label={t("keys.create")} class="key-form">
      <h2>{t("keys.new")}</h2>
      <Field label={t("keys.name")} name="key-name" value={name} onInput={setName} required error={fields.name} />
      <fieldset class={onScopes ? "invalid" : undefined} aria-describedby={onScopes ? "key-scopes-error" : undefined}>
        <legend>{t("keys.scopes")}</legend>
        {SCOPES.map((scope) => (
          <div class="check" key={scope}>
            <input type="checkbox" id={`key-scope-${scope}`} checked={scopes.includes(scope)}
              onChange={(event) => setScopes((event.target as HTMLInputElement).checked
                ? [...scopes, scope] : scopes.filter((item) => item !== scope))} />
            <label for={`key-scope-${scope}`}>{t(`keys.scope.${scope}`)}</label>
          </div>
        ))}
        {onScopes && <p class="field-error" id="key-scopes-error" role="alert">{onScopes}</p>}
      </fieldset>
      <Field label={t("keys.expiresOn")} name="key-expires" type="date" value={expires} onInput={setExpires}
        error={fields.expires_at} hint={t("keys.expiresHint")} />
      {error && !named ? <ErrorNote error={error} /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>{t("keys.create")}</button>
        {busy && <span role="status">{t("state.working")}</span>}
      </div>
    </form>
  );
}

/** The new key, in this page's memory only: gone once hidden or the page is left. */
function NewKey(props: { created: ApiKeyCreated; onHide: () => void }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div class="secret" data-testid="new-key">
      <p role="alert"><strong>{t("keys.shownOnce", { name: props.created.name })}</strong></p>
      <code data-testid="api-key">{props.created.key}</code>
      <button type="button" class="small" onClick={copy}>{copied ? t("webhook.copied") : t("webhook.copy")}</button>
      <button type="button" class="small" onClick={props.onHide}>{t("keys.hide")}</button>
    </div>
  );
}

function KeyTable(props: { keys: ApiKey[]; onRevoke: (key: ApiKey) => void }) {
  return (
    <div class="table-wrap">
      <table>
        <thead><tr>
          <th scope="col">{t("keys.name")}</th><th scope="col">{t("keys.scopes")}</th>
          <th scope="col">{t("keys.expires")}</th><th scope="col">{t("keys.created")}</th>
          <th scope="col">{t("keys.lastUsed")}</th><th scope="col">{t("keys.actions")}</th>
        </tr></thead>
        <tbody>
          {props.keys.map((key) => (
            <tr key={key.id} data-key={key.name}>
              <td>{key.name}
                {key.owner_is_member === false && <p class="muted">{t("keys.ownerLeft")}</p>}</td>
              <td>{key.scopes.join(", ")}</td>
              <td>{key.expires_at ? formatTime(key.expires_at) : t("keys.never")}
                {key.expired && <> <span class="badge status-failed">{t("keys.expired")}</span></>}</td>
              <td>{formatTime(key.created_at)}</td>
              <td>{key.last_used_at ? formatTime(key.last_used_at) : t("keys.never")}</td>
              <td><button type="button" class="small danger" onClick={() => props.onRevoke(key)}
                aria-label={t("keys.revokeFor", { name: key.name })}>{t("keys.revoke")}</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ProjectKeysPage(props: { id: string }) {
  const project = useLoad(() => api.project(props.id), [props.id]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [shown, setShown] = useState<ApiKey[]>([]);
  const keys = useLoad(async () => {
    const page = await api.keys(props.id, cursor);
    setShown((before) => (cursor ? [...before, ...page.items] : page.items));
    return page;
  }, [props.id, cursor]);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [revoked, setRevoked] = useState("");
  const [error, setError] = useState<unknown>(null);

  function startOver() {
    if (cursor) setCursor(null);
    else keys.reload();
  }
  async function revoke() {
    const key = revoking;
    setRevoking(null);
    if (!key) return;
    setError(null);
    try {
      await api.revokeKey(props.id, key.id);
      setRevoked(t("keys.revoked", { name: key.name }));
      if (created?.id === key.id) setCreated(null);
      startOver();
    } catch (failure) {
      setError(failure);
    }
  }

  if (project.error) return <main id="main"><ErrorNote error={project.error} onRetry={project.reload} /></main>;
  if (!project.data) return <main id="main"><Loading /></main>;
  return (
    <main id="main">
      <ProjectHeader project={project.data} current="keys" />
      <p class="muted">{t("keys.explain")}</p>
      {created && <NewKey created={created} onHide={() => setCreated(null)} />}
      <ErrorNote error={error} />
      {revoked && <p role="status" class="ok">{revoked}</p>}
      <ErrorNote error={keys.error} onRetry={keys.reload} />
      {keys.loading && !shown.length && <Loading />}
      {!keys.loading && !keys.error && !shown.length && <Empty text={t("keys.empty")} />}
      {shown.length > 0 && <KeyTable keys={shown} onRevoke={setRevoking} />}
      {keys.data?.next_cursor && (
        <button type="button" onClick={() => setCursor(keys.data!.next_cursor)}>{t("action.more")}</button>
      )}
      <CreateKey projectId={props.id} onCreated={(key) => { setCreated(key); setRevoked(""); startOver(); }} />
      <ConfirmDialog open={revoking !== null} title={t("keys.revokeTitle", { name: revoking?.name ?? "" })}
        text={t("keys.revokeText", { name: revoking?.name ?? "" })} confirm={t("keys.revoke")}
        onConfirm={revoke} onClose={() => setRevoking(null)} />
    </main>
  );
}

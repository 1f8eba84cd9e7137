// Small building blocks every page uses: links, fields, states, badges, dialogs, the
// history sparkline.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type History } from "./api";
import { formatDuration, formatTime, t, type TextKey } from "./i18n";
import { followLink, href } from "./router";

export function Link(props: { to: string; children: ComponentChildren; class?: string; "aria-current"?: "page" }) {
  return (
    <a href={href(props.to)} class={props.class} aria-current={props["aria-current"]}
      onClick={(event) => followLink(event, props.to)}>{props.children}</a>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("error.network");
    return error.message || t("error.generic");
  }
  return t("error.generic");
}

/** A labelled input; `error` is the API's message for this field, shown next to it. */
export function Field(props: {
  label: string; name: string; value: string; onInput: (value: string) => void; type?: string;
  error?: string; autocomplete?: string; required?: boolean; placeholder?: string; hint?: string;
  children?: ComponentChildren;
}) {
  const id = `field-${props.name}`;
  return (
    <div class={props.error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      <div class="field-row">
        <input id={id} name={props.name} type={props.type ?? "text"} value={props.value}
          autocomplete={props.autocomplete} required={props.required} placeholder={props.placeholder}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={props.error ? `${id}-error` : props.hint ? `${id}-hint` : undefined}
          onInput={(event) => props.onInput((event.target as HTMLInputElement).value)} />
        {props.children}
      </div>
      {props.hint && !props.error && <p class="hint" id={`${id}-hint`}>{props.hint}</p>}
      {props.error && <p class="field-error" id={`${id}-error`} role="alert">{props.error}</p>}
    </div>
  );
}

export function Loading() {
  return <p class="state loading" role="status" aria-live="polite">{t("state.loading")}</p>;
}

export function Empty(props: { text: string; children?: ComponentChildren }) {
  return <div class="state empty"><p>{props.text}</p>{props.children}</div>;
}

export function ErrorNote(props: { error: unknown; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="state error" role="alert">
      <p>{errorText(props.error)}</p>
      {props.onRetry && <button type="button" onClick={props.onRetry}>{t("action.retry")}</button>}
    </div>
  );
}

/** The catalogue's word for an API value ("status.passed"), or the value itself if it has none. */
export function enumText(prefix: string, value: string): string {
  const key = `${prefix}.${value}` as TextKey;
  const text = t(key);
  return text === undefined || text === key ? value : text;
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`} data-status={props.status}>{enumText("status", props.status)}</span>;
}

/** Load something when `deps` change: {data, error, loading, reload}. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    load().then(
      (value) => { if (mine === generation.current) { setData(value); setLoading(false); } },
      (failure) => { if (mine === generation.current) { setError(failure); setLoading(false); } },
    );
  }, deps); // the caller names what the load depends on
  useEffect(reload, [reload]);
  return { data, error, loading, reload, setData };
}

/** A modal confirmation (native <dialog>: focus is kept inside, Escape closes it). */
export function ConfirmDialog(props: {
  open: boolean; title: string; text: string; confirm: string; onConfirm: () => void; onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  return (
    <dialog ref={dialog} onClose={props.onClose} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{props.title}</h2>
      <p>{props.text}</p>
      <div class="actions">
        <button type="button" onClick={props.onClose}>{t("action.cancel")}</button>
        <button type="button" class="danger" onClick={props.onConfirm}>{props.confirm}</button>
      </div>
    </dialog>
  );
}

export function PageTitle(props: { title: string; children?: ComponentChildren }) {
  useEffect(() => { document.title = `${props.title} · hat`; }, [props.title]);
  return <div class="page-title"><h1>{props.title}</h1>{props.children && <div class="actions">{props.children}</div>}</div>;
}

export function fieldErrors(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fields : {};
}

export function Select(props: {
  label: string; name: string; value: string; onChange: (value: string) => void;
  options: { value: string; label: string }[];
}) {
  const id = `field-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} value={props.value}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value)}>
        {props.options.map((option) => <option value={option.value} key={option.value}>{option.label}</option>)}
      </select>
    </div>
  );
}

export type FormEvent = JSX.TargetedEvent<HTMLFormElement, Event>;

const SPARK = { bar: 6, gap: 2, height: 28, lowest: 4 };

/** The last outcomes as bars, oldest left, newest right: colour by status, height by
 * duration (relative to the longest shown); each bar links to its report, its title says
 * status, duration and time. */
export function Sparkline(props: { history: History; limit?: number }) {
  const items = props.history.items.slice(0, props.limit ?? props.history.items.length).reverse();
  const longest = Math.max(1, ...items.map((item) => item.duration_ms));
  const step = SPARK.bar + SPARK.gap;
  const width = Math.max(items.length * step - SPARK.gap, 1);
  return (
    <svg class="sparkline" width={width} height={SPARK.height} viewBox={`0 0 ${width} ${SPARK.height}`}
      role="group" aria-label={t("history.label", { count: items.length })}>
      {items.map((item, index) => {
        const tall = SPARK.lowest + ((SPARK.height - SPARK.lowest) * item.duration_ms) / longest;
        const to = `/reports/${item.report_id}`;
        return (
          <a key={item.report_id} href={href(to)} class={`mark mark-${item.status}`} data-status={item.status}
            data-report={item.report_id} onClick={(event) => followLink(event, to)}>
            <title>{t("history.tip", { status: enumText("status", item.status), duration: formatDuration(item.duration_ms),
              time: formatTime(item.finished_at) })}</title>
            <rect class="hit" x={index * step} y={0} width={SPARK.bar} height={SPARK.height} />
            <rect class="bar" x={index * step} y={SPARK.height - tall} width={SPARK.bar} height={tall} rx={1} />
          </a>
        );
      })}
    </svg>
  );
}

/** A history's sparkline, "flaky" and (unless `compact`: a table cell, the last 20) "failing since". */
function HistoryLine(props: { history: History; compact?: boolean }) {
  const history = props.history;
  if (!history.items.length) return <p class="muted">{t("history.empty")}</p>;
  return (
    <div class="history-line">
      <Sparkline history={history} limit={props.compact ? 20 : undefined} />
      {history.flaky && <span class="badge flaky" title={t("history.flakyHint")}>{t("history.flaky")}</span>}
      {history.failing_since && !props.compact &&
        <span class="failing-since">{t("history.failingSince", { time: formatTime(history.failing_since) })}</span>}
    </div>
  );
}

/** A history that came with its list (GET /tasks?include=history), in a table cell. */
export function HistoryCell(props: { history?: History | null }) {
  return (
    <div class="history compact" data-testid="history">
      {props.history ? <HistoryLine history={props.history} compact /> : "—"}
    </div>
  );
}

/** A subject's history (a test case's, a task's), loaded on its own, with its heading. */
export function HistoryPanel(props: { load: () => Promise<History>; id: string }) {
  const history = useLoad(props.load, [props.id]);
  return (
    <section class="history" data-testid="history" aria-labelledby={`history-${props.id}`}>
      <h2 id={`history-${props.id}`}>{t("history.title")}</h2>
      {history.loading && !history.data && <Loading />}
      <ErrorNote error={history.error} onRetry={history.reload} />
      {history.data && <HistoryLine history={history.data} />}
    </section>
  );
}

// The code editors (loaded only when their pages open), CodeMirror 6: the test case editor
// with YAML or JSON, the API's field errors (`teststeps[2].validate[0]`) marked on the lines
// of their paths; and the plain source editor for debugtalk.py, its errors marked by line.
import { json } from "@codemirror/lang-json";
import { yaml } from "@codemirror/lang-yaml";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { Document, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Node as YamlNode } from "yaml";

export type Format = "yaml" | "json";
export interface Marked { path: string; message: string; line: number }

export interface EditorHandle {
  text(): string;
  replace(text: string): void;
  setFormat(format: Format): void;
  mark(fields: Record<string, string>): Marked[];
  destroy(): void;
}

const MAX_DEPTH = 64;

/** "teststeps[2].validate[0]" -> ["teststeps", 2, "validate", 0] (bounded: a path is short). */
export function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const piece of path.slice(0, 512).split(".")) {
    const found = /^([^[\]]*)((?:\[\d+\])*)$/.exec(piece);
    if (!found) { parts.push(piece); continue; }
    if (found[1]) parts.push(found[1]);
    for (const index of found[2].matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
  }
  return parts.slice(0, MAX_DEPTH);
}

/** Where a path points in the document text: the deepest part of it that exists there. */
function locate(text: string, path: string): number {
  const document = parseDocument(text, { keepSourceTokens: false, uniqueKeys: false });
  let parts = pathParts(path);
  if (parts[0] === "testcase" || parts[0] === "body") parts = parts.slice(1);
  for (let length = parts.length; length > 0; length--) {
    const node = document.getIn(parts.slice(0, length), true) as YamlNode | undefined;
    if (isNode(node) && node.range) {
      // A map's or a list's start is its first entry: point at its key's line instead.
      const parent = document.getIn(parts.slice(0, length - 1), true);
      if (isNode(parent) && "items" in parent) {
        for (const item of (parent as { items: unknown[] }).items) {
          if (isPair(item) && item.value === node && isNode(item.key) && item.key.range) return item.key.range[0];
        }
      }
      return node.range[0];
    }
  }
  return 0;
}

/** The document as a value; a syntax error names its line. */
export function parse(text: string, format: Format): { value: unknown } | { error: string; line: number } {
  if (format === "json") {
    try {
      return { value: JSON.parse(text) };
    } catch (error) {
      const at = /position (\d+)/.exec(String(error));
      const line = at ? text.slice(0, Number(at[1])).split("\n").length : 1;
      return { error: String((error as Error).message), line };
    }
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  if (document.errors.length) {
    const first = document.errors[0];
    return { error: first.message.split("\n")[0], line: lines.linePos(first.pos[0]).line };
  }
  return { value: document.toJS({ maxAliasCount: 100 }) };
}

/** The document as text; in YAML a list of plain values stays on one line, as HttpRunner
 * writes its validators (`- eq: [status_code, 200]`). */
export function render(value: unknown, format: Format): string {
  if (format === "json") return JSON.stringify(value, null, 2) + "\n";
  const document = new Document(value);
  visit(document, {
    Seq(_, node) {
      if (node.items.length <= 4 && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0 });
}

// Inside a shadow root CodeMirror's styles go to adoptedStyleSheets; in the document it
// would add a <style> element, which the console's CSP (style-src 'self') refuses.
const SIZE = EditorView.theme({
  "&": { maxHeight: "70vh", minHeight: "320px", backgroundColor: "#fff" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
});

/** A CodeMirror view in `host`'s shadow root (see SIZE) with the shared setup and `extensions`. */
function mount(host: HTMLElement, text: string, label: string, onChange: () => void, extensions: Extension[]): EditorView {
  const root = host.shadowRoot ?? host.attachShadow({ mode: "open" });
  return new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: text,
      extensions: [
        basicSetup, lintGutter(), SIZE, ...extensions,
        EditorView.updateListener.of((update) => { if (update.docChanged) onChange(); }),
        EditorView.contentAttributes.of({ "aria-label": host.dataset.label ?? label }),
      ],
    }),
  });
}

export function createEditor(host: HTMLElement, text: string, format: Format, onChange: () => void): EditorHandle {
  const language = new Compartment();
  const view = mount(host, text, "test case", onChange, [language.of(format === "json" ? json() : yaml())]);
  return {
    text: () => view.state.doc.toString(),
    replace: (next) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } }),
    setFormat: (next) => view.dispatch({ effects: language.reconfigure(next === "json" ? json() : yaml()) }),
    mark(fields) {
      const source = view.state.doc.toString();
      const marked: Marked[] = [];
      const diagnostics: Diagnostic[] = Object.entries(fields).map(([path, message]) => {
        const position = Math.min(locate(source, path), view.state.doc.length);
        const line = view.state.doc.lineAt(position);
        marked.push({ path: path.replace(/^(testcase|body)\./, ""), message, line: line.number });
        return { from: line.from, to: line.to, severity: "error", message: `${path}: ${message}` };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
      return marked.sort((a, b) => a.line - b.line);
    },
    destroy: () => view.destroy(),
  };
}

export interface SourceHandle {
  text(): string;
  replace(text: string): void;
  /** Marks each `{line, message}` (1-based lines, clamped to the document); none clears them. */
  markLines(marks: { line: number; message: string }[]): void;
  destroy(): void;
}

/** The line an API field names by its path, `body.line[12]` -> 12 (debugtalk.py's syntax
 * errors); null for a field that names no line. */
export function fieldLine(path: string): number | null {
  const parts = pathParts(path);
  const at = parts.indexOf("line");
  return at >= 0 && typeof parts[at + 1] === "number" ? (parts[at + 1] as number) : null;
}

/** A plain source editor (debugtalk.py: no Python grammar is bundled, so no highlighting;
 * line numbers, brackets, search, undo as in the test case editor). */
export function createSourceEditor(host: HTMLElement, text: string, onChange: () => void): SourceHandle {
  const view = mount(host, text, "source", onChange, []);
  return {
    text: () => view.state.doc.toString(),
    replace: (next) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } }),
    markLines(marks) {
      const diagnostics: Diagnostic[] = marks.map(({ line, message }) => {
        const found = view.state.doc.line(Math.min(Math.max(line, 1), view.state.doc.lines));
        return { from: found.from, to: found.to, severity: "error", message };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    destroy: () => view.destroy(),
  };
}

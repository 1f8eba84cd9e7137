// Every text the console shows comes from one catalogue per language (texts/*.ts).
import { en } from "./texts/en";
import { zhCN } from "./texts/zh-CN";

export type TextKey = keyof typeof en;
export const catalogues = { en, "zh-CN": zhCN } as const;
export type Language = keyof typeof catalogues;
export const languages: Language[] = ["en", "zh-CN"];
const STORAGE_KEY = "hat_language";

function browserLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "zh-CN") return saved;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    if (wanted.toLowerCase().startsWith("zh")) return "zh-CN";
    if (wanted.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

let language: Language = browserLanguage();
document.documentElement.lang = language;

export function currentLanguage(): Language {
  return language;
}

export function setLanguage(next: Language): void {
  language = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
}

/** The text for `key` in the current language, `{name}` replaced from `vars`. */
export function t(key: TextKey, vars: Record<string, string | number> = {}): string {
  const text: string = (catalogues[language] as Record<string, string>)[key] ?? (en as Record<string, string>)[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function formatTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return date.toLocaleString(language, { timeZone, dateStyle: "medium", timeStyle: "short" });
  } catch {
    return date.toLocaleString(language);
  }
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// The crontab of a task, read while the user types: its meaning in words and its next runs
// in the task's time zone. The server stays the judge (it answers 400 naming the field).
import { t } from "./i18n";

export interface Crontab {
  minutes: number[]; hours: number[]; days: number[]; months: number[]; weekdays: number[];
  anyDay: boolean; anyWeekday: boolean;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function field(text: string, low: number, high: number, names: string[] = [], nameBase = 0): number[] | null {
  const values = new Set<number>();
  const value = (part: string): number | null => {
    const index = names.indexOf(part.toLowerCase());
    if (index >= 0) return index + nameBase;
    if (!/^\d{1,2}$/.test(part)) return null;
    return Number(part);
  };
  for (const item of text.split(",")) {
    const [range, stepText] = item.split("/");
    const step = stepText === undefined ? 1 : /^\d{1,2}$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) return null;
    let from = low;
    let to = high;
    if (range !== "*") {
      const [start, end] = range.split("-");
      const a = value(start);
      const b = end === undefined ? (stepText === undefined ? a : high) : value(end);
      if (a === null || b === null) return null;
      from = a;
      to = b;
    }
    if (high === 7 && to === 7) to = 7; // 7 is Sunday too
    if (from < low || to > high || from > to) return null;
    for (let v = from; v <= to; v += step) values.add(high === 7 && v === 7 ? 0 : v);
  }
  return [...values].sort((x, y) => x - y);
}

/** The five fields, or the index of the first bad one. */
export function parseCrontab(text: string): Crontab | { badField: number } {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) return { badField: -1 };
  const limits: [number, number, string[], number][] = [
    [0, 59, [], 0], [0, 23, [], 0], [1, 31, [], 0], [1, 12, MONTHS, 1], [0, 7, WEEKDAYS, 0],
  ];
  const fields: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const values = field(parts[i], ...limits[i]);
    if (!values || !values.length) return { badField: i };
    fields.push(values);
  }
  return {
    minutes: fields[0], hours: fields[1], days: fields[2], months: fields[3], weekdays: fields[4],
    anyDay: parts[2] === "*", anyWeekday: parts[4] === "*",
  };
}

function list(values: number[], all: number, render: (v: number) => string): string | null {
  return values.length === all ? null : values.map(render).join(", ");
}

export function describeCrontab(cron: Crontab): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const pieces: string[] = [];
  if (cron.minutes.length === 60 && cron.hours.length === 24) pieces.push(t("cron.everyMinute"));
  else if (cron.hours.length === 24) pieces.push(t("cron.minutesPast", { minutes: cron.minutes.join(", ") }));
  else if (cron.minutes.length * cron.hours.length <= 6) {
    pieces.push(t("cron.at", { times: cron.hours.flatMap((h) => cron.minutes.map((m) => `${pad(h)}:${pad(m)}`)).join(", ") }));
  } else {
    pieces.push(t("cron.minutesPastHours", { minutes: cron.minutes.join(", "), hours: cron.hours.join(", ") }));
  }
  const days = cron.anyDay ? null : list(cron.days, 31, String);
  const weekdays = cron.anyWeekday ? null : list(cron.weekdays, 7, (d) => t(`weekday.${d}` as never));
  if (days && weekdays) pieces.push(t("cron.daysOrWeekdays", { days, weekdays }));
  else if (days) pieces.push(t("cron.onDays", { days }));
  else if (weekdays) pieces.push(t("cron.onWeekdays", { weekdays }));
  const months = list(cron.months, 12, (m) => t(`month.${m}` as never));
  if (months) pieces.push(t("cron.inMonths", { months }));
  return pieces.join(t("cron.joiner"));
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", second: "numeric",
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - instant;
}

/** The UTC instant of a wall-clock time in `timeZone`, or null if that time does not exist there (DST gap). */
function zonedInstant(y: number, mo: number, d: number, h: number, mi: number, timeZone: string): number | null {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let instant = wall - offsetAt(wall, timeZone);
  instant = wall - offsetAt(instant, timeZone);
  return instant + offsetAt(instant, timeZone) === wall ? instant : null;
}

/** The next `count` runs after `from`, at most four years ahead (a 31 February never comes). */
export function nextRuns(cron: Crontab, timeZone: string, from: Date = new Date(), count = 3): Date[] {
  const runs: Date[] = [];
  const start = from.getTime();
  const today = new Date(start + offsetAt(start, timeZone));
  const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  for (let i = 0; i < 366 * 4 && runs.length < count; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    const month = day.getUTCMonth() + 1;
    if (!cron.months.includes(month)) continue;
    const dayMatch = cron.days.includes(day.getUTCDate());
    const weekdayMatch = cron.weekdays.includes(day.getUTCDay());
    // Unix cron ORs day-of-month and day-of-week when both are restricted.
    const matches = cron.anyDay && cron.anyWeekday ? true
      : cron.anyDay ? weekdayMatch : cron.anyWeekday ? dayMatch : dayMatch || weekdayMatch;
    if (!matches) continue;
    for (const hour of cron.hours) {
      for (const minute of cron.minutes) {
        const instant = zonedInstant(day.getUTCFullYear(), month, day.getUTCDate(), hour, minute, timeZone);
        if (instant !== null && instant > start) {
          runs.push(new Date(instant));
          if (runs.length >= count) return runs;
        }
      }
    }
  }
  return runs;
}

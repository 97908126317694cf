import { ParseError } from "./errors.js";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The value parseTimeLimit returns for `UNLIMITED`, `infinite` and `0` (Slurm: zero means no limit). */
export const UNLIMITED_TIME_LIMIT = 0;

// Slurm forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. Fields are not range-checked (90 minutes is fine).
const WITH_DAYS = /^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$/;
const WITHOUT_DAYS = /^(\d+)(?::(\d+))?(?::(\d+))?$/;

function durationError(s: string): ParseError {
  return new ParseError(`invalid duration format: ${s} (use M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED, e.g. 30, 1:30:00 or 2-12:00:00)`);
}

function toSeconds(days: number, hours: number, minutes: number, seconds: number, original: string): number {
  const total = days * DAY + hours * HOUR + minutes * MINUTE + seconds;
  if (!Number.isSafeInteger(total)) throw durationError(original);
  return total;
}

/**
 * Parses a job time limit into seconds. `UNLIMITED`/`infinite` (and `0`, as in Slurm) return 0,
 * which callers treat as "no limit".
 */
export function parseTimeLimit(s: string): number {
  const text = s.trim();
  if (/^(unlimited|infinite)$/i.test(text)) return UNLIMITED_TIME_LIMIT;

  // The reference only accepts [D-]H:M:S; the Slurm forms users type are accepted here as well.
  const withDays = WITH_DAYS.exec(text);
  if (withDays) {
    const [, d, h, m = "0", sec = "0"] = withDays;
    return toSeconds(Number(d), Number(h), Number(m), Number(sec), s);
  }
  const plain = WITHOUT_DAYS.exec(text);
  if (!plain) throw durationError(s);
  // The optional groups fill in order: a third field implies a second.
  const [, first, second, third] = plain;
  if (second === undefined) return toSeconds(0, 0, Number(first), 0, s);
  if (third === undefined) return toSeconds(0, 0, Number(first), Number(second), s);
  return toSeconds(0, Number(first), Number(second), Number(third), s);
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** Formats seconds as `HH:MM:SS`, prefixed with `D-` when at least one day long. */
export function formatDuration(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const days = Math.floor(total / DAY);
  const hours = Math.floor((total % DAY) / HOUR);
  const minutes = Math.floor((total % HOUR) / MINUTE);
  const clock = `${pad2(hours)}:${pad2(minutes)}:${pad2(total % MINUTE)}`;
  return days > 0 ? `${days}-${clock}` : clock;
}

const RELATIVE = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: MINUTE * 1000, h: HOUR * 1000, d: DAY * 1000 };
// Date and time, 'T' or a space between, optional fraction (up to ns) and optional zone.
const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$/;

function unsupportedTime(s: string): ParseError {
  return new ParseError(
    `unsupported time format: ${s} (use a relative age such as 30s, 10m, 2h or 1d, or a time such as 2024-05-01T12:00:00Z or "2024-05-01 12:00:00")`,
  );
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  // A month outside 1-12 has no valid day.
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** The zone's offset in minutes, or undefined when it is not `Z` or `+HH:MM`/`-HH:MM`. */
function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === "" || zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const [hh, mm] = zone.slice(1).split(":").map(Number);
  if (hh === undefined || mm === undefined) return undefined;
  return sign * (hh * 60 + mm);
}

function parseAbsolute(s: string): Date | undefined {
  const m = ABSOLUTE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, separator, h, mi, sec, fraction = "", zone = ""] = m;
  // RFC 3339 needs a zone; only the 'T' and space forms may omit it (then UTC). A space with a zone is not a supported form.
  if (separator === " " && zone !== "") return undefined;
  const [year, month, day, hour, minute, second] = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec)];
  const fieldsValid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59;
  const offset = zoneOffsetMinutes(zone);
  if (!fieldsValid || offset === undefined || Math.abs(offset) >= 24 * 60) return undefined;
  const millis = Number(fraction.padEnd(3, "0").slice(0, 3));
  // setUTCFullYear rather than Date.UTC, which maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offset, second, millis);
  return date;
}

/**
 * Parses `ccon logs --since/--until` values: a relative age `N[smhd]` counted back from `now`,
 * or an absolute RFC 3339 time; zone-less `YYYY-MM-DDTHH:MM:SS` and `YYYY-MM-DD HH:MM:SS` are UTC.
 */
export function parseRelativeOrAbsoluteTime(s: string, now: Date): Date {
  const text = s.trim();
  const relative = RELATIVE.exec(text);
  if (relative) {
    // The reference rejects the `d` unit; days are accepted here.
    const [, amount, unit] = relative;
    const unitMs = unit === undefined ? undefined : UNIT_MS[unit];
    if (unitMs === undefined) throw unsupportedTime(s);
    const date = new Date(now.getTime() - Number(amount) * unitMs);
    if (Number.isNaN(date.getTime())) throw unsupportedTime(s);
    return date;
  }
  const absolute = parseAbsolute(text);
  if (!absolute) throw unsupportedTime(s);
  return absolute;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
}

/** Describes how long ago an epoch-milliseconds time was (`5 minutes ago`), or `-` when unknown (0). */
export function formatAgo(ms: number, now: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "-";
  // The reference always uses the plural ("1 minutes ago"); the singular is used here.
  const seconds = Math.max(0, Math.floor((now - ms) / 1000));
  if (seconds < MINUTE) return plural(seconds, "second");
  if (seconds < HOUR) return plural(Math.floor(seconds / MINUTE), "minute");
  if (seconds < DAY) return plural(Math.floor(seconds / HOUR), "hour");
  return plural(Math.floor(seconds / DAY), "day");
}

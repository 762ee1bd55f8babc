/**
 * Durations and instants for people to read (reason texts, `status`, `history`, `plan`, log
 * messages), without millisecond noise: precision only where it means something.
 *
 * - `formatSpan`: the two largest units, floored: `14h47m`, `4m10s`, `2d3h`; under a minute in
 *   seconds with a space, `12 s`, and under 10 s with one decimal, `1.8 s`.
 * - `formatInstant`: UTC as `2026-12-02T08:00Z` (seconds only when not zero); with a time zone
 *   the wall clock there first, then UTC: `2026-12-02 09:00 Europe/Berlin (08:00Z)`.
 * - `formatRelative`: `in 4m10s`, `12 s ago`.
 *
 * Machine-readable durations (plan fields, `{{window}}`) stay in plan/duration.ts; record
 * fields keep their full ISO 8601 instants.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A span of milliseconds for people: `14h47m`, `4m10s`, `12 s`, `1.8 s`, `40 ms`, `0 s`.
 * Negative spans are formatted by their size.
 */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (!Number.isFinite(abs)) return 'forever';
  if (abs >= 1 && abs < 100) return `${Math.floor(abs)} ms`; // never `0 s` for a short timeout
  if (abs < 10 * SECOND) {
    const tenths = Math.floor(abs / 100) / 10;
    return `${Number.isInteger(tenths) ? tenths.toFixed(0) : tenths.toFixed(1)} s`;
  }
  if (abs < MINUTE) return `${Math.floor(abs / SECOND)} s`;
  const units: Array<[string, number]> = [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ];
  const first = units.findIndex(([, size]) => abs >= size);
  const [bigUnit, bigSize] = units[first]!;
  const [smallUnit, smallSize] = units[first + 1]!;
  const big = Math.floor(abs / bigSize);
  const small = Math.floor((abs - big * bigSize) / smallSize);
  return small > 0 ? `${big}${bigUnit}${small}${smallUnit}` : `${big}${bigUnit}`;
}

/** `in 4m10s` for a future instant, `12 s ago` for a past one, `now` within a tenth of a second. */
export function formatRelative(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < 100) return 'now';
  return d > 0 ? `in ${formatSpan(d)}` : `${formatSpan(d)} ago`;
}

interface WallParts {
  date: string;
  time: string;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter per time zone; throws RangeError for a name Intl does not know. */
function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = zoneFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    // Bounded: a process sees the few zones of its plans (and at most one entry per name).
    if (zoneFormatters.size < 1000) zoneFormatters.set(timeZone, f);
  }
  return f;
}

/**
 * The wall-clock time of `t` in `timeZone`, written as if it were UTC (epoch ms): what the
 * deployment windows compare and what formatInstant shows. Throws RangeError for a time zone
 * Intl does not know.
 */
export function wallClock(t: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall + (t - Math.floor(t / 1000) * 1000);
}

function clock(hour: string, minute: string, second: string): string {
  return second === '00' ? `${hour}:${minute}` : `${hour}:${minute}:${second}`;
}

/** The date and time the wall clock in `timeZone` shows at `ms`; null for a zone Intl does not know. */
function wallPartsIn(ms: number, timeZone: string): WallParts | null {
  try {
    return utcParts(wallClock(ms, timeZone));
  } catch {
    return null;
  }
}

function utcParts(ms: number): WallParts {
  const iso = new Date(ms).toISOString();
  return { date: iso.slice(0, 10), time: clock(iso.slice(11, 13), iso.slice(14, 16), iso.slice(17, 19)) };
}


/**
 * An instant for people, to the second (milliseconds dropped): `2026-12-02T08:00Z`; with a
 * time zone (IANA name, e.g. a deployment window's) the wall clock there, then UTC:
 * `2026-12-02 09:00 Europe/Berlin (08:00Z)`, or `(2026-12-01T23:30Z)` when the UTC date
 * differs. A time zone Intl does not know, or `UTC` itself, gives the UTC form alone.
 */
export function formatInstant(ms: number, timeZone?: string | null): string {
  const utc = utcParts(ms);
  const wall = timeZone && timeZone !== 'UTC' && timeZone !== 'Etc/UTC' ? wallPartsIn(ms, timeZone) : null;
  if (!wall) return `${utc.date}T${utc.time}Z`;
  const inUtc = wall.date === utc.date ? `${utc.time}Z` : `${utc.date}T${utc.time}Z`;
  return `${wall.date} ${wall.time} ${timeZone} (${inUtc})`;
}

/**
 * Deployment windows and blackouts (pure). An increase of the canary's weight or mirror is
 * allowed inside any window (always, when there are none) and never inside a blackout;
 * blackouts beat windows. A window whose end is before its start runs past midnight; its
 * `days` name the day it starts. Wall-clock times are converted with Intl, DST-correct: a
 * time inside a spring-forward gap moves later by the length of the gap (02:30 on the day
 * Europe/Berlin springs forward is 03:30 CEST); a time that occurs twice on a fall-back day
 * means its first occurrence. Windows are [start, end): an increase is allowed at start,
 * not at end; blackouts are [from, to).
 */
import { formatInstant, wallClock } from '../support/human-time.js';
import { DAYS, type Blackout, type Day, type TimeWindow } from './schema.js';

export interface WindowSpec {
  windows: readonly TimeWindow[];
  blackouts: readonly Blackout[];
}

export type IncreaseAllowed =
  | { allowed: true }
  | { allowed: false; reason: string; waitingFor: 'window' | 'blackout'; until: number | null };

const DAY_MS = 86_400_000;
/** The offset of `timeZone` from UTC at instant `t`, in ms (CET: +3600000). */
export function zoneOffset(t: number, timeZone: string): number {
  return wallClock(t, timeZone) - t;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall` (a wall time written as a
 * UTC epoch). Ambiguous (fall-back) times give the earlier instant; times in a gap
 * (spring-forward) are moved later by the length of the gap.
 */
export function instantOfWallTime(wall: number, timeZone: string): number {
  const before = zoneOffset(wall - DAY_MS, timeZone);
  const after = zoneOffset(wall + DAY_MS, timeZone);
  const candidates = [wall - before, wall - after].filter((t) => wallClock(t, timeZone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before; // in a gap: keep the offset from before the change, i.e. shift later
}

const clockMs = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h! * 60 + m!) * 60_000;
};

/** The occurrences [start, end) of `w` that start on local days from `t`'s day - 1 to + 8. */
export function windowOccurrences(w: TimeWindow, t: number): Array<[number, number]> {
  const today = Math.floor(wallClock(t, w.timezone) / DAY_MS) * DAY_MS; // local midnight, as UTC
  const start = clockMs(w.start);
  let end = clockMs(w.end);
  if (end <= start) end += DAY_MS;
  const out: Array<[number, number]> = [];
  for (let d = -1; d <= 8; d++) {
    const day = today + d * DAY_MS;
    const weekday: Day = DAYS[(new Date(day).getUTCDay() + 6) % 7]!;
    if (!w.days.includes(weekday)) continue;
    const s = instantOfWallTime(day + start, w.timezone);
    const e = instantOfWallTime(day + end, w.timezone);
    if (e > s) out.push([s, e]);
  }
  return out;
}

function blackoutAt(blackouts: readonly Blackout[], t: number): Blackout | undefined {
  // The covering blackout that lasts longest, so that `to` is the first moment free of it.
  let found: Blackout | undefined;
  for (const b of blackouts) if (b.from <= t && t < b.to && (!found || b.to > found.to)) found = b;
  return found;
}

/** The start of the window occurrence containing `t`, or the next start after `t`; null if none. */
function windowAtOrAfter(windows: readonly TimeWindow[], t: number): { inside: boolean; next: number | null } {
  let next: number | null = null;
  for (const w of windows) {
    for (const [s, e] of windowOccurrences(w, t)) {
      if (s <= t && t < e) return { inside: true, next: t };
      if (s > t && (next === null || s < next)) next = s;
    }
  }
  return { inside: false, next };
}

/** The first instant at or after `t` at which an increase is allowed; null if there is none. */
export function nextIncreaseAllowed(spec: WindowSpec, t: number): number | null {
  let c = t;
  for (let i = 0; i < 10_000; i++) {
    const b = blackoutAt(spec.blackouts, c);
    if (b) {
      c = b.to;
      continue;
    }
    if (spec.windows.length === 0) return c;
    const w = windowAtOrAfter(spec.windows, c);
    if (w.inside) return c;
    if (w.next === null) return null;
    c = w.next;
  }
  return null;
}

const describeWindow = (w: TimeWindow): string => `${w.days.join(',')} ${w.start}-${w.end} ${w.timezone}`;

/**
 * The plan's time zone for texts that name an instant (reasons, `status`): its deployment
 * windows' (the first window's when they differ); null when it has no windows or they are in
 * UTC. Such texts show the wall clock there next to UTC (support/human-time.ts).
 */
export function planTimeZone(spec: Pick<WindowSpec, 'windows'>): string | null {
  const zone = spec.windows[0]?.timezone;
  return zone && zone !== 'UTC' ? zone : null;
}

/** Whether an increase of weight or mirror is allowed at `t`, and if not, why and until when. */
export function increaseAllowedAt(spec: WindowSpec, t: number): IncreaseAllowed {
  const b = blackoutAt(spec.blackouts, t);
  if (b) {
    const why = b.reason ? ` (${b.reason})` : '';
    return {
      allowed: false,
      reason: `inside a blackout from ${formatInstant(b.from, planTimeZone(spec))} to ${formatInstant(b.to, planTimeZone(spec))}${why}`,
      waitingFor: 'blackout',
      until: nextIncreaseAllowed(spec, t),
    };
  }
  if (spec.windows.length === 0 || windowAtOrAfter(spec.windows, t).inside) return { allowed: true };
  return {
    allowed: false,
    reason: `outside the deployment windows (${spec.windows.map(describeWindow).join('; ')})`,
    waitingFor: 'window',
    until: nextIncreaseAllowed(spec, t),
  };
}

import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/plan/duration.js';
import type { Blackout, Day, TimeWindow } from '../../src/plan/schema.js';
import { increaseAllowedAt, instantOfWallTime, nextIncreaseAllowed, zoneOffset } from '../../src/plan/windows.js';

const at = (s: string) => parseInstant(s)!;
const win = (days: Day[], start: string, end: string, timezone = 'UTC'): TimeWindow => ({ days, start, end, timezone });
const blackout = (from: string, to: string, reason?: string): Blackout => ({ from: at(from), to: at(to), reason });

const WEEKDAYS_BERLIN = [win(['mon', 'tue', 'wed', 'thu', 'fri'], '09:00', '17:00', 'Europe/Berlin')];
// Sundays 01:00-04:00 in Berlin: 2025-03-30 springs forward (02:00 -> 03:00), 2025-10-26 falls back (03:00 -> 02:00).
const SUNDAY_NIGHT_BERLIN = [win(['sun'], '01:00', '04:00', 'Europe/Berlin')];
const FRIDAY_OVERNIGHT_UTC = [win(['fri'], '22:00', '06:00')];
const SATURDAY_OVERNIGHT_BERLIN = [win(['sat'], '22:00', '06:00', 'Europe/Berlin')];

/** [name, windows, blackouts, t, allowed, until (for not allowed), waitingFor] */
const CASES: Array<[string, TimeWindow[], Blackout[], string, boolean, string | null, ('window' | 'blackout')?]> = [
  ['no windows, no blackouts', [], [], '2025-11-01T03:00:00Z', true, null],
  ['inside a weekday window (CET)', WEEKDAYS_BERLIN, [], '2025-11-03T08:00:00Z', true, null],
  ['the window end is exclusive', WEEKDAYS_BERLIN, [], '2025-11-03T16:00:00Z', false, '2025-11-04T08:00:00Z', 'window'],
  ['before the window opens (CET)', WEEKDAYS_BERLIN, [], '2025-11-03T07:59:59Z', false, '2025-11-03T08:00:00Z', 'window'],
  ['summer: 09:00 CEST is 07:00Z', WEEKDAYS_BERLIN, [], '2025-07-01T07:00:00Z', true, null],
  ['weekend waits for Monday, across the spring change', WEEKDAYS_BERLIN, [], '2025-03-29T12:00:00Z', false, '2025-03-31T07:00:00Z', 'window'],
  ['Friday evening waits for Monday, across the autumn change', WEEKDAYS_BERLIN, [], '2025-10-24T16:30:00Z', false, '2025-10-27T08:00:00Z', 'window'],
  ['spring-forward night opens at 01:00 CET', SUNDAY_NIGHT_BERLIN, [], '2025-03-30T00:00:00Z', true, null],
  ['spring-forward night: 04:00 CEST is 02:00Z, the end', SUNDAY_NIGHT_BERLIN, [], '2025-03-30T02:00:00Z', false, '2025-04-05T23:00:00Z', 'window'],
  ['spring-forward night: 03:30 CEST is inside', SUNDAY_NIGHT_BERLIN, [], '2025-03-30T01:30:00Z', true, null],
  ['fall-back night opens at 01:00 CEST (23:00Z Saturday)', SUNDAY_NIGHT_BERLIN, [], '2025-10-25T22:59:00Z', false, '2025-10-25T23:00:00Z', 'window'],
  ['fall-back night lasts four hours: 02:59Z is inside', SUNDAY_NIGHT_BERLIN, [], '2025-10-26T02:59:00Z', true, null],
  ['fall-back night ends at 04:00 CET (03:00Z)', SUNDAY_NIGHT_BERLIN, [], '2025-10-26T03:00:00Z', false, '2025-11-02T00:00:00Z', 'window'],
  ['overnight window continues into Saturday', FRIDAY_OVERNIGHT_UTC, [], '2025-11-08T05:59:00Z', true, null],
  ['overnight window ends at 06:00 Saturday', FRIDAY_OVERNIGHT_UTC, [], '2025-11-08T06:00:00Z', false, '2025-11-14T22:00:00Z', 'window'],
  ['overnight window: days name the starting day', FRIDAY_OVERNIGHT_UTC, [], '2025-11-08T23:00:00Z', false, '2025-11-14T22:00:00Z', 'window'],
  ['overnight Berlin window across fall-back: 05:30 CET inside', SATURDAY_OVERNIGHT_BERLIN, [], '2025-10-26T04:30:00Z', true, null],
  ['overnight Berlin window across fall-back: ends 06:00 CET', SATURDAY_OVERNIGHT_BERLIN, [], '2025-10-26T05:00:00Z', false, '2025-11-01T21:00:00Z', 'window'],
  ['blackout without windows', [], [blackout('2025-12-24T00:00:00Z', '2025-12-27T00:00:00Z', 'holidays')], '2025-12-25T00:00:00Z', false, '2025-12-27T00:00:00Z', 'blackout'],
  ['blackout end is exclusive', [], [blackout('2025-12-24T00:00:00Z', '2025-12-27T00:00:00Z')], '2025-12-27T00:00:00Z', true, null],
  ['blackout beats an open window', WEEKDAYS_BERLIN, [blackout('2025-11-05T10:00:00Z', '2025-11-05T12:00:00Z')], '2025-11-05T11:00:00Z', false, '2025-11-05T12:00:00Z', 'blackout'],
  ['after a blackout, wait for the next window', WEEKDAYS_BERLIN, [blackout('2025-11-05T15:00:00Z', '2025-11-06T09:00:00Z')], '2025-11-05T15:30:00Z', false, '2025-11-06T09:00:00Z', 'blackout'],
  ['a blackout ending at night waits for the morning window', WEEKDAYS_BERLIN, [blackout('2025-11-05T15:00:00Z', '2025-11-05T20:00:00Z')], '2025-11-05T15:30:00Z', false, '2025-11-06T08:00:00Z', 'blackout'],
  ['chained blackouts', [], [blackout('2025-12-24T00:00:00Z', '2025-12-25T00:00:00Z'), blackout('2025-12-24T12:00:00Z', '2025-12-26T00:00:00Z')], '2025-12-24T01:00:00Z', false, '2025-12-26T00:00:00Z', 'blackout'],
  ['next window opens inside a blackout', WEEKDAYS_BERLIN, [blackout('2025-11-08T00:00:00Z', '2025-11-10T12:00:00Z')], '2025-11-07T20:00:00Z', false, '2025-11-10T12:00:00Z', 'window'],
];

describe('increaseAllowedAt', () => {
  it.each(CASES)('%s', (_name, windows, blackouts, t, allowed, until, waitingFor) => {
    const r = increaseAllowedAt({ windows, blackouts }, at(t));
    if (allowed) {
      expect(r).toEqual({ allowed: true });
      return;
    }
    expect(r.allowed).toBe(false);
    if (r.allowed) return;
    expect(new Date(r.until!).toISOString()).toBe(new Date(at(until!)).toISOString());
    expect(r.waitingFor).toBe(waitingFor);
    expect(r.reason).toMatch(waitingFor === 'blackout' ? /inside a blackout/ : /outside the deployment windows/);
  });

  it('names the blackout reason', () => {
    const r = increaseAllowedAt({ windows: [], blackouts: [blackout('2025-12-24T00:00:00Z', '2025-12-27T00:00:00Z', 'holidays')] }, at('2025-12-25T00:00:00Z'));
    expect(!r.allowed && r.reason).toContain('(holidays)');
  });

  it('is allowed at the returned instant', () => {
    for (const [, windows, blackouts, t] of CASES) {
      const next = nextIncreaseAllowed({ windows, blackouts }, at(t));
      expect(increaseAllowedAt({ windows, blackouts }, next!)).toEqual({ allowed: true });
    }
  });
});

describe('wall-clock conversion', () => {
  const wall = (s: string) => Date.parse(`${s}Z`);
  it.each([
    ['winter', '2025-01-15T09:00:00', 'Europe/Berlin', '2025-01-15T08:00:00.000Z'],
    ['summer', '2025-07-15T09:00:00', 'Europe/Berlin', '2025-07-15T07:00:00.000Z'],
    ['a time in the spring gap moves later by the gap', '2025-03-30T02:30:00', 'Europe/Berlin', '2025-03-30T01:30:00.000Z'],
    ['a time that occurs twice means the first one', '2025-10-26T02:30:00', 'Europe/Berlin', '2025-10-26T00:30:00.000Z'],
    ['New York', '2025-11-02T01:30:00', 'America/New_York', '2025-11-02T05:30:00.000Z'],
    ['a half-hour zone', '2025-06-01T09:00:00', 'Asia/Kolkata', '2025-06-01T03:30:00.000Z'],
  ])('%s', (_name, local, tz, utc) => {
    expect(new Date(instantOfWallTime(wall(local), tz)).toISOString()).toBe(utc);
  });

  it('offsets', () => {
    expect(zoneOffset(at('2025-01-01T00:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffset(at('2025-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
  });
});

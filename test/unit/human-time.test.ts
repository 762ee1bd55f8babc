import { describe, expect, it } from 'vitest';
import { formatInstant, formatRelative, formatSpan } from '../../src/support/human-time.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;

describe('formatSpan: no millisecond noise, precision where it means something', () => {
  it('keeps the two largest units, floored', () => {
    expect(formatSpan(14 * h + 47 * m + 32 * s + 453)).toBe('14h47m');
    expect(formatSpan(4 * m + 10 * s + 999)).toBe('4m10s');
    expect(formatSpan(2 * 24 * h + 3 * h + 59 * m)).toBe('2d3h');
    expect(formatSpan(2 * h)).toBe('2h');
    expect(formatSpan(5 * m + 400)).toBe('5m');
  });
  it('gives sub-minute values in seconds, one decimal under 10 s', () => {
    expect(formatSpan(12 * s + 700)).toBe('12 s');
    expect(formatSpan(59 * s + 999)).toBe('59 s');
    expect(formatSpan(1800)).toBe('1.8 s');
    expect(formatSpan(9999)).toBe('9.9 s');
    expect(formatSpan(2000)).toBe('2 s');
    expect(formatSpan(40)).toBe('40 ms'); // a short timeout is never `0 s`
    expect(formatSpan(99.6)).toBe('99 ms');
    expect(formatSpan(0)).toBe('0 s');
  });
  it('formats a negative span by its size', () => {
    expect(formatSpan(-(3 * m + 5 * s))).toBe('3m5s');
  });
});

describe('formatRelative', () => {
  const now = Date.UTC(2026, 11, 2, 8, 0, 0);
  it('says in ... for the future and ... ago for the past', () => {
    expect(formatRelative(now + 4 * m + 10 * s, now)).toBe('in 4m10s');
    expect(formatRelative(now - 12 * s - 300, now)).toBe('12 s ago');
    expect(formatRelative(now + 1800, now)).toBe('in 1.8 s');
    expect(formatRelative(now + 50, now)).toBe('now');
  });
});

describe('formatInstant', () => {
  it('prints UTC to the minute, seconds only when not zero, never milliseconds', () => {
    expect(formatInstant(Date.parse('2026-12-02T08:00:00.000Z'))).toBe('2026-12-02T08:00Z');
    expect(formatInstant(Date.parse('2026-12-02T08:00:07.453Z'))).toBe('2026-12-02T08:00:07Z');
  });
  it('puts the wall clock of a time zone first and UTC next to it', () => {
    expect(formatInstant(Date.parse('2026-12-02T08:00:00Z'), 'Europe/Berlin')).toBe('2026-12-02 09:00 Europe/Berlin (08:00Z)');
    // Summer time: +2h.
    expect(formatInstant(Date.parse('2026-07-01T07:30:00Z'), 'Europe/Berlin')).toBe('2026-07-01 09:30 Europe/Berlin (07:30Z)');
  });
  it('names the UTC date when it differs from the wall-clock date', () => {
    expect(formatInstant(Date.parse('2026-12-01T23:30:00Z'), 'Europe/Berlin')).toBe('2026-12-02 00:30 Europe/Berlin (2026-12-01T23:30Z)');
    expect(formatInstant(Date.parse('2026-12-02T03:00:00Z'), 'America/New_York')).toBe('2026-12-01 22:00 America/New_York (2026-12-02T03:00Z)');
  });
  it('gives UTC alone for UTC or an unknown zone', () => {
    expect(formatInstant(Date.parse('2026-12-02T08:00:00Z'), 'UTC')).toBe('2026-12-02T08:00Z');
    expect(formatInstant(Date.parse('2026-12-02T08:00:00Z'), 'Mars/Olympus')).toBe('2026-12-02T08:00Z');
    expect(formatInstant(Date.parse('2026-12-02T08:00:00Z'), null)).toBe('2026-12-02T08:00Z');
  });
});

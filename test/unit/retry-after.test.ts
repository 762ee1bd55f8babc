import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/support/retry-after.js';

const NOW = Date.parse('2026-11-21T23:00:00Z');

describe('parseRetryAfter', () => {
  it.each<[string, unknown, number | undefined]>([
    ['delay seconds', '120', 120_000],
    ['zero', '0', 0],
    ['fractional seconds, rounded to ms', '1.5', 1_500],
    ['surrounding spaces', ' 7 ', 7_000],
    ['an HTTP date 30 s ahead', 'Sat, 21 Nov 2026 23:00:30 GMT', 30_000],
    ['an HTTP date in the past: no wait', 'Sat, 21 Nov 2026 22:59:00 GMT', 0],
    ['an ISO date 2 min ahead', '2026-11-21T23:02:00Z', 120_000],
    ['absent', undefined, undefined],
    ['empty', '', undefined],
    ['blank', '   ', undefined],
    ['a negative number', '-5', undefined],
    ['an exponent', '1e3', undefined],
    ['a comma decimal', '1,5', undefined],
    ['words', 'soon', undefined],
    ['not a string', 30, undefined],
    ['a list of values', ['30'], undefined],
  ])('%s: %j -> %j', (_what, header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });
});

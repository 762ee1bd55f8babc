/**
 * The HAProxy router's arithmetic and parsing (no HAProxy needed): percentages to integer
 * weight pairs, the order of the two `set server` commands, runtime API addresses and answers.
 */
import { describe, expect, it } from 'vitest';
import { haproxyRouter, setOrder } from '../../src/routers/haproxy.js';
import { MAX_WEIGHT, pairPercent, parseRuntimeAddress, splitAnswers, weightPairFor } from '../../src/routers/haproxy-runtime.js';

describe('weightPairFor', () => {
  it('is exact at 0% and 100%: weight 0 drains a server', () => {
    expect(weightPairFor(0)).toEqual({ stable: 256, canary: 0 });
    expect(weightPairFor(100)).toEqual({ stable: 0, canary: 256 });
  });

  it('is exact where a pair of weights up to 256 can be, preferring the larger pair', () => {
    expect(weightPairFor(50)).toEqual({ stable: 256, canary: 256 });
    expect(weightPairFor(0.5)).toEqual({ stable: 199, canary: 1 });
    expect(weightPairFor(25)).toEqual({ stable: 255, canary: 85 });
    expect(weightPairFor(5)).toEqual({ stable: 247, canary: 13 });
  });

  it('rounds shares below half the smallest non-zero one (1/257 = 0.39%) to 0%', () => {
    expect(weightPairFor(0.1)).toEqual({ stable: 256, canary: 0 });
    expect(weightPairFor(0.3)).toEqual({ stable: 256, canary: 1 });
    expect(weightPairFor(99.9)).toEqual({ stable: 0, canary: 256 });
  });

  it('is the closest pair of all 256×256 for every 0.01% step (checked by brute force on a sample)', () => {
    for (let bp = 1; bp < 10_000; bp += 113) {
      const target = bp / 100;
      const got = Math.abs(pairPercent(weightPairFor(target)) - target);
      let best = Infinity;
      for (let s = 0; s <= MAX_WEIGHT; s++) for (let c = 0; c <= MAX_WEIGHT; c++) if (s + c > 0) best = Math.min(best, Math.abs(pairPercent({ stable: s, canary: c }) - target));
      expect(got).toBeCloseTo(best, 12);
    }
  });

  it('stays within 0.05 points of any target from 1% to 99% (0.2 points below 1% and above 99%)', () => {
    for (let bp = 1; bp < 10_000; bp++) {
      const target = bp / 100;
      const err = Math.abs(pairPercent(weightPairFor(target)) - target);
      expect(err).toBeLessThan(target >= 1 && target <= 99 ? 0.05 : 0.2);
    }
  });
});

describe('the precision of the haproxy descriptor', () => {
  it('rounds a share to the share of its pair, and that share maps back to the same pair (every 0.01% step)', () => {
    for (let h = 0; h <= 10_000; h++) {
      const pair = weightPairFor(h / 100);
      const rounded = haproxyRouter.expressible({ weight: h / 100, mirror: 0 });
      expect(rounded).toEqual({ weight: pairPercent(pair), mirror: 0 });
      expect(weightPairFor(rounded.weight)).toEqual(pair);
    }
  });
});

describe('setOrder', () => {
  it('never leaves both servers at weight 0 between the two commands', () => {
    expect(setOrder({ stable: 0, canary: 256 }, { stable: 256, canary: 0 })).toEqual(['stable', 'canary']);
    expect(setOrder({ stable: 256, canary: 0 }, { stable: 0, canary: 256 })).toEqual(['canary', 'stable']);
  });

  it('keeps the in-between share between the old and the new one', () => {
    // 0% -> 0.5%: stable first gives 199/0 (0%), canary first would give 256/1 (0.39%); both fine.
    expect(setOrder({ stable: 256, canary: 0 }, { stable: 199, canary: 1 })).toEqual(['stable', 'canary']);
    // 50% (256/256) -> 25% (255/85): stable first gives 255/256 (50.10%, 0.10 outside),
    // canary first 256/85 (24.93%, 0.07 outside): the nearer one goes.
    expect(setOrder({ stable: 256, canary: 256 }, { stable: 255, canary: 85 })).toEqual(['canary', 'stable']);
    // 25% -> 50%: stable first 256/85 (24.93%), canary first 255/256 (50.10%): stable first.
    expect(setOrder({ stable: 255, canary: 85 }, { stable: 256, canary: 256 })).toEqual(['stable', 'canary']);
  });
});

describe('runtime API plumbing', () => {
  it('tells unix socket paths from host:port', () => {
    expect(parseRuntimeAddress('/run/haproxy/admin.sock')).toEqual({ path: '/run/haproxy/admin.sock' });
    expect(parseRuntimeAddress('127.0.0.1:9999')).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(parseRuntimeAddress('ipv4@127.0.0.1:9999')).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(parseRuntimeAddress('[::1]:9999')).toEqual({ host: '::1', port: 9999 });
    expect(parseRuntimeAddress('unix@admin.sock')).toEqual({ path: 'admin.sock' });
    expect(parseRuntimeAddress('admin.sock')).toEqual({ path: 'admin.sock' });
  });

  it('splits answers where a successful set is an empty line', () => {
    expect(splitAnswers('\n\n', 2)).toEqual(['', '']);
    expect(splitAnswers('No such server.\n\n\n', 2)).toEqual(['No such server.', '']);
    expect(splitAnswers('\nNo such server.\n\n', 2)).toEqual(['', 'No such server.']);
    expect(splitAnswers('256 (initial 256)\n\n0 (initial 0)\n\n', 2)).toEqual(['256 (initial 256)', '0 (initial 0)']);
  });
});

/**
 * The report's data (src/dashboard/report.ts): which queries are charted, the span and the
 * step (points bounded), and what the note says when Prometheus has no answer, refuses a
 * query, or there is no address. Against a real Prometheus: test/e2e/report.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/core/state.js';
import type { Sample } from '../../src/core/metrics-provider.js';
import { PrometheusError } from '../../src/metrics/errors.js';
import { buildReport, MAX_POINTS_PER_METRIC, metricQueries, metricRanges, rangeStep, reportSpan } from '../../src/dashboard/report.js';
import { silentLogger } from '../../src/support/log.js';
import { record, ROLLOUT } from '../helpers/records.js';

const m = (name: string, query: string) => ({ name, query, value: 0.001, verdict: 'pass' as const, critical: true });
const at = (s: number) => new Date(Date.UTC(2025, 10, 1, 14, 0, 0) + s * 1000).toISOString();

describe('report data', () => {
  it('charts each metric once: its latest checkpoint query, else its latest guard query', () => {
    const records = [
      record(2, { metrics: [m('errors', 'q-errors[5m]'), m('latency', 'q-latency[5m]')] }),
      record(3, { kind: 'guard', metrics: [m('errors', 'q-errors[1m]'), m('saturation', 'q-sat[1m]')] }),
      record(4, { metrics: [m('errors', 'q-errors[10m]')] }),
    ];
    expect(metricQueries(records)).toEqual([
      { metric: 'errors', query: 'q-errors[10m]' },
      { metric: 'latency', query: 'q-latency[5m]' },
      { metric: 'saturation', query: 'q-sat[1m]' },
    ]);
  });

  it('the span: first to last record when done, to now while running, at least a minute', () => {
    const records = [record(1, { at: at(0) }), record(2, { at: at(600) })];
    const done = { ...initialState(ROLLOUT), status: 'complete' as const };
    const running = { ...initialState(ROLLOUT), status: 'progressing' as const };
    const now = Date.parse(at(900));
    expect(reportSpan(records, done, now)).toEqual({ start: Date.parse(at(0)), end: Date.parse(at(600)) });
    expect(reportSpan(records, running, now)).toEqual({ start: Date.parse(at(0)), end: now });
    expect(reportSpan([record(1, { at: at(0) })], done, now)).toEqual({ start: Date.parse(at(-60)), end: Date.parse(at(0)) });
    expect(reportSpan([], done, now)).toBeNull();
  });

  it('the step keeps every range at most 1,000 points, in whole seconds', () => {
    for (const seconds of [60, 999, 1000, 3600, 86_400, 30 * 86_400]) {
      const step = rangeStep({ start: 0, end: seconds * 1000 });
      expect(step % 1000).toBe(0);
      expect(Math.floor((seconds * 1000) / step) + 1).toBeLessThanOrEqual(MAX_POINTS_PER_METRIC);
    }
    expect(rangeStep({ start: 0, end: 60_000 })).toBe(1000);
  });

  it('ranges: points in time order with nulls kept; a refused query is named, the others charted', async () => {
    const provider = {
      range: async (query: string, start: number, _end: number, step: number) => {
        if (query === 'bad') throw new PrometheusError('HTTP 400 bad_data: parse error', { kind: 'bad-query' });
        return new Map<number, Sample>([
          [start + step, { value: null, reason: 'no sample' }],
          [start, { value: 1 }],
        ]);
      },
    };
    const span = { start: 1_000_000, end: 1_060_000 };
    const { ranges, note } = await metricRanges(provider, [{ metric: 'errors', query: 'good' }, { metric: 'latency', query: 'bad' }], span, 'http://prom:9090');
    expect(ranges).toEqual([{ metric: 'errors', query: 'good', step: 1, points: [[1000, 1], [1001, null]] }]);
    expect(note).toBe('not charted: latency: HTTP 400 bad_data: parse error');
  });

  it('ranges: a Prometheus that does not answer stops the queries and says so, without credentials', async () => {
    let calls = 0;
    const provider = {
      range: async () => {
        calls++;
        throw new PrometheusError('connect ECONNREFUSED 127.0.0.1:1', { kind: 'network' });
      },
    };
    const { ranges, note } = await metricRanges(provider, [{ metric: 'a', query: 'a' }, { metric: 'b', query: 'b' }], { start: 0, end: 60_000 }, 'http://user:secret@127.0.0.1:1');
    expect(calls).toBe(1);
    expect(ranges).toEqual([]);
    expect(note).toMatch(/^Prometheus at http:\/\/.*127\.0\.0\.1:1.* did not answer \(connect ECONNREFUSED/);
    expect(note).not.toContain('secret');
  });

  it('a report without a Prometheus address or without judged metrics says why it has no ranges', async () => {
    const state = { ...initialState(ROLLOUT), status: 'complete' as const, seq: 2 };
    const judged = { records: [record(1), record(2, { metrics: [m('errors', 'q')] })], omitted: 3 };
    const noAddress = await buildReport({ id: ROLLOUT, state, plan: null, records: judged, log: silentLogger(), now: Date.now() });
    expect(noAddress).toMatchObject({ source: 'report', ranges: [], recordsOmitted: 3, guard: [] });
    expect(noAddress.rangesNote).toMatch(/no Prometheus address/);
    const nothing = await buildReport({ id: ROLLOUT, state, plan: null, records: { records: [record(1)], omitted: 0 }, prometheus: 'http://127.0.0.1:1', log: silentLogger(), now: Date.now() });
    expect(nothing.rangesNote).toMatch(/no metric was judged/);
  });
});

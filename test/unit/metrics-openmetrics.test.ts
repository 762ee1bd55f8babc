/**
 * The OpenMetrics history builders (test/helpers/openmetrics.ts): the text follows the format's
 * ordering rules and promtool turns it into blocks.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OpenMetricsHistory, between, exponentialLatency, splitByBlocks } from '../helpers/openmetrics.js';
import { PROMTOOL_BIN, startPrometheus } from '../helpers/prometheus.js';

const run = promisify(execFile);

describe('OpenMetricsHistory', () => {
  const h = new OpenMetricsHistory({ start: 1000, end: 1060, step: 30 })
    .counter('req_total', { code: '200' }, between(1000, 1030, 2, 1))
    .gauge('depth', {}, (t) => (t === 1030 ? null : 5))
    .counter('req_total', { code: '500' }, 0.5, { gaps: [[1030, 1060]] })
    .histogram('lat_seconds', { a: 'x' }, { rate: 1, latency: exponentialLatency(1), buckets: [1] })
    .alert('Hi', { severity: 'critical' }, { pendingFrom: 1000, firingFrom: 1030, until: 1061 });

  it('groups each family under one TYPE line, counters named without _total, ending in # EOF', () => {
    expect(h.text()).toBe(
      [
        '# TYPE req counter',
        'req_total{code="200"} 0 1000',
        'req_total{code="200"} 60 1030',
        'req_total{code="200"} 90 1060',
        'req_total{code="500"} 0 1000',
        'req_total{code="500"} 30 1060',
        '# TYPE depth gauge',
        'depth 5 1000',
        'depth 5 1060',
        '# TYPE lat_seconds histogram',
        `lat_seconds_bucket{a="x",le="1"} 0 1000`,
        'lat_seconds_bucket{a="x",le="+Inf"} 0 1000',
        'lat_seconds_count{a="x"} 0 1000',
        'lat_seconds_sum{a="x"} 0 1000',
        `lat_seconds_bucket{a="x",le="1"} ${30 * (1 - Math.exp(-1))} 1030`,
        'lat_seconds_bucket{a="x",le="+Inf"} 30 1030',
        'lat_seconds_count{a="x"} 30 1030',
        'lat_seconds_sum{a="x"} 30 1030',
        `lat_seconds_bucket{a="x",le="1"} ${60 * (1 - Math.exp(-1))} 1060`,
        'lat_seconds_bucket{a="x",le="+Inf"} 60 1060',
        'lat_seconds_count{a="x"} 60 1060',
        'lat_seconds_sum{a="x"} 60 1060',
        '# TYPE ALERTS gauge',
        'ALERTS{alertname="Hi",severity="critical",alertstate="pending"} 1 1000',
        'ALERTS{alertname="Hi",severity="critical",alertstate="firing"} 1 1030',
        'ALERTS{alertname="Hi",severity="critical",alertstate="firing"} 1 1060',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values', () => {
    const t = new OpenMetricsHistory({ start: 0, end: 0 }).gauge('g', { v: 'a"b\\c\nd' }, 1).text();
    expect(t).toContain('g{v="a\\"b\\\\c\\nd"} 1 0');
  });

  it('counterValues writes the given value at each sample, joining the family of the same name', () => {
    const t = new OpenMetricsHistory({ start: 0, end: 60, step: 30 })
      .counter('req_total', { code: '200' }, 1)
      .counterValues('req_total', { code: '500' }, (t) => t / 30 + 0.5, { gaps: [[30, 60]] })
      .text();
    expect(t).toBe(['# TYPE req counter', 'req_total{code="200"} 0 0', 'req_total{code="200"} 30 30', 'req_total{code="200"} 60 60', 'req_total{code="500"} 0.5 0', 'req_total{code="500"} 2.5 60', '# EOF', ''].join('\n'));
  });

  it('refuses a counter without _total and a family with two types', () => {
    const b = new OpenMetricsHistory({ start: 0, end: 0 });
    expect(() => b.counter('req', {}, 1)).toThrow(/_total/);
    expect(() => b.counterValues('req', {}, () => 1)).toThrow(/_total/);
    b.gauge('x', {}, 1);
    expect(() => b.histogram('x', {}, { rate: 1, latency: exponentialLatency(1) })).toThrow(/already a gauge/);
  });

  it('is accepted by promtool tsdb create-blocks-from openmetrics', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-om-'));
    try {
      await writeFile(join(dir, 'h.om'), h.text());
      const { stdout } = await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'h.om'), join(dir, 'data')]);
      expect(stdout).toMatch(/BLOCK ULID/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('startPrometheus reports bad input', async () => {
    await expect(startPrometheus({ openMetrics: 'not openmetrics at all\n# EOF\n' })).rejects.toThrow(/could not import the OpenMetrics history/);
    await expect(startPrometheus({ openMetrics: '# TYPE x gauge\nx{a="1"} notanumber 10\n# EOF\n' })).rejects.toThrow(/could not import the OpenMetrics history \(promtool\)/);
  });

  it('splitByBlocks cuts at 2 h block boundaries, repeating family headers', () => {
    const big = new OpenMetricsHistory({ start: 0, end: 6 * 3600, step: 600 })
      .counter('a_total', { l: 'x y}' }, 1)
      .gauge('b', {}, 2);
    const parts = splitByBlocks(big.text(), 2);
    expect(parts).toHaveLength(2);
    for (const p of parts) {
      expect(p.startsWith('# TYPE a counter\n')).toBe(true);
      expect(p).toContain('# TYPE b gauge');
      expect(p.endsWith('# EOF\n')).toBe(true);
    }
    const samples = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples(parts.join('')).sort()).toEqual(samples(big.text()).sort());
    // blocks [0,2h) [2h,4h) [4h,6h) and the 6h sample: 4 buckets in 2 parts of 2
    expect(samples(parts[0]!).map((l) => Number(l.split(' ').at(-1))).every((t) => t < 4 * 3600)).toBe(true);
    expect(() => splitByBlocks('x 1\n# EOF\n', 2)).toThrow(/without a timestamp/);
  });
});

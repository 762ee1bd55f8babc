/**
 * Defect 1 of issue 7, through the engine: a Prometheus-compatible API that answers values a
 * real Prometheus never sends (a broken proxy: `""`, `null`, `result: null`, `"0x10"`) holds
 * the checkpoint and then pauses; it never advances. The answers come from a small HTTP server,
 * the queries from the real PrometheusProvider, the decisions from the real engine on a
 * virtual clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusProvider } from '../../src/metrics/prometheus.js';
import { silentLogger } from '../../src/support/log.js';
import { decisions, demoPlan, engine, HOUR, T0 } from '../helpers/engine.js';
import { startAnsweringServer, success, type AnsweringServer } from '../helpers/answering-server.js';

let server: AnsweringServer;
beforeAll(async () => {
  server = await startAnsweringServer(() => success({ resultType: 'vector', result: [] }));
});
afterAll(() => server?.close());

const plan = demoPlan(`
  metrics:
    - { name: error-rate, query: 'sum(rate(errors[{{window}}]))', max: 0.01, critical: true }
  guard: { metrics: [] }
  analysis: { retryInterval: 1m, inconclusiveLimit: 3 }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m] }
    - { name: full, weight: 100, checkpoints: [15m] }`);

async function rollout() {
  const metrics = new PrometheusProvider({ address: server.url, log: silentLogger(), retries: 0 });
  const e = await engine(plan, () => null, { metrics });
  await e.runUntil(T0 + 2 * HOUR);
  return e;
}

const vectorOf = (value: unknown) => success({ resultType: 'vector', result: [{ metric: {}, value: [1796145768.072, value] }] });

describe('malformed evidence through the engine', () => {
  it('a healthy answer advances (the setup can pass)', async () => {
    server.answer(() => vectorOf('0.001'));
    const e = await rollout();
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'checkpoint:complete@full']);
  });

  it.each([
    ['a "" value', vectorOf(''), 'value "" is not a number as Prometheus writes it'],
    ['a null value', vectorOf(null), 'value null is not a number as Prometheus writes it'],
    ['a "0x10" value', vectorOf('0x10'), 'value "0x10" is not a number as Prometheus writes it'],
    ['a scalar ""', success({ resultType: 'scalar', result: [1796145768.072, ''] }), 'value "" is not a number as Prometheus writes it'],
    ['result: null', success({ resultType: 'vector', result: null }), 'malformed instant answer: data.result:'],
    ['a point that is not a pair', success({ resultType: 'vector', result: [{ metric: {}, value: ['1'] }] }), 'malformed instant answer: data.result[0].value'],
  ])('%s holds the checkpoint, then pauses; never advances', async (_name, answer, reason) => {
    server.answer(() => answer);
    const e = await rollout();
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'checkpoint:hold@canary',
      'checkpoint:hold@canary',
      'checkpoint:hold@canary',
      'checkpoint:pause@canary',
    ]);
    for (const r of e.records.slice(1)) {
      expect(r.weight).toEqual({ from: 10, to: 10 });
      expect(r.metrics![0]).toMatchObject({ name: 'error-rate', value: null, verdict: 'nodata' });
      expect(r.metrics![0]!.reason).toContain(reason);
      expect(r.reason).toContain(reason);
    }
    expect(await e.router.read()).toEqual({ weight: 10, mirror: 0 });
  });
});

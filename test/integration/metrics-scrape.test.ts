/**
 * /metrics as a real Prometheus sees it: 2,000 rollouts' worth of series (rendered in slices,
 * written in pieces) and a gate metric whose name needs escaping are scraped, accepted whole
 * and queryable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { startHttpServer, type HttpServer } from '../../src/observe/server.js';
import { silentLogger } from '../../src/support/log.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { record } from '../helpers/records.js';
import { observeRollouts, sampleLines } from '../helpers/rollout-metrics.js';
import { until } from '../helpers/until.js';

const ROLLOUTS = 2_000;
const ODD = 'p99 "slow" \\ path\nsecond line';

describe('/metrics scraped by a real Prometheus', () => {
  let metrics: ControllerMetrics;
  let server: HttpServer | undefined;
  let prom: RunningPrometheus | undefined;

  async function query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
    return body.data.result;
  }

  beforeAll(async () => {
    metrics = new ControllerMetrics();
    observeRollouts(metrics, ROLLOUTS);
    metrics.observeDecision(
      record(2, { rollout: 'odd/one', metrics: [{ name: ODD, query: 'q', value: 0.25, max: 1, verdict: 'pass', critical: true }] }),
    );
    metrics.setLeader(true);
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, ready: () => ({ ok: true }), log: silentLogger() });
    prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${server.port}`], scrapeInterval: '1s' });
    // Prometheus applies new scrape targets on a 5 s tick, and its scrape timeout is the 1 s
    // interval (a scrape can miss it on a loaded machine): wait for the first whole scrape. A
    // text it cannot parse never gets there (up stays 0, the reason is in its log).
    const scraped = async () => (await query('up{job="test"}'))[0]?.value[1] === '1';
    await until(scraped, 45_000, `a whole scrape of ${server.url}`).catch((err: Error) => {
      throw new Error(`${err.message}:\n${prom!.log()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await server?.close();
  });

  it('accepts the whole exposition', async () => {
    const ours = sampleLines(await metrics.metrics()).filter((l) => l.startsWith('rollgate_'));
    expect((await query('count({__name__=~"rollgate_.+"})'))[0]!.value[1]).toBe(String(ours.length));
    expect((await query('count(rollgate_rollout_info)'))[0]!.value[1]).toBe(String(ROLLOUTS + 1));
    expect((await query('count(rollgate_metric_value)'))[0]!.value[1]).toBe(String(3 * ROLLOUTS + 1));
    expect((await query('rollgate_checkpoint_lateness_seconds_count'))[0]!.value[1]).toBe(String(3 * ROLLOUTS));
  });

  it('label values that need escaping arrive as they were', async () => {
    const [odd] = await query('rollgate_metric_value{rollout="odd/one"}');
    expect(odd!.metric.metric).toBe(ODD);
    expect(odd!.value[1]).toBe('0.25');
  });
});

/**
 * The query pool against a real Prometheus, through the providers a RolloutHost builds for its
 * plans (one pool per host, the rollout id as the turn): 200 rollouts asking one query at one
 * instant send one request, and 200 different queries never open more connections than the cap.
 * Counted by Prometheus itself (its /metrics: requests per handler, connections accepted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, get } from 'node:http';
import { VirtualClock } from '../../src/core/clock.js';
import { RolloutHost } from '../../src/host/rollout-host.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { QueryPool } from '../../src/metrics/query-pool.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { SimulatedRouter } from '../../src/routers/simulated.js';
import { silentLogger } from '../../src/support/log.js';
import type { MetricsProvider } from '../../src/core/metrics-provider.js';
import { demoPlan, T0 } from '../helpers/engine.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const CAP = 8;
const ROLLOUTS = 200;

let prom: RunningPrometheus;
/** One keep-alive connection for reading Prometheus' own /metrics, so that reading them opens no new one. */
const scrapeAgent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(async () => {
  scrapeAgent.destroy();
  await prom?.stop();
});

/** A counter of Prometheus' own /metrics, summed over the series whose labels contain `labels`. */
async function promCounter(name: string, labels: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    get(`${prom.url}/metrics`, { agent: scrapeAgent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const queryRequests = () => promCounter('prometheus_http_requests_total', 'handler="/api/v1/query"');
const connectionsAccepted = () => promCounter('net_conntrack_listener_conn_accepted_total', 'listener_name="http"');

/** The providers a host with a pool of CAP builds for ROLLOUTS plans on this Prometheus. */
function providers(): MetricsProvider[] {
  const host = new RolloutHost({
    log: silentLogger(),
    clock: new VirtualClock(T0),
    journal: new MemoryJournal(),
    metrics: new ControllerMetrics({ defaultMetrics: false }),
    routerFor: () => new SimulatedRouter(),
    queryPool: new QueryPool({ maxInFlight: CAP }),
  });
  return Array.from({ length: ROLLOUTS }, (_, i) => {
    const loaded = demoPlan(
      `
  prometheus: { address: ${prom.url} }
  metrics:
    - { name: up, query: 'sum(vector(1))', min: 1 }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
`,
      { metadata: `{ name: r${i}, namespace: shop }` },
    );
    return host.io(loaded).provider;
  });
}

describe('one query pool for the rollouts of a host, against a real Prometheus', () => {
  it(`${ROLLOUTS} rollouts asking one query at one instant send one request per instant`, async () => {
    const ps = providers();
    const at = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const before = await queryRequests();
    for (const instant of [at, at + 15_000, at + 30_000]) {
      const samples = await Promise.all(ps.map((p) => p.instant('sum(vector(1))', instant)));
      expect(samples.every((s) => s.value === 1)).toBe(true);
    }
    expect((await queryRequests()) - before).toBe(3);
  });

  it(`${ROLLOUTS} different queries: all answered, over at most ${CAP} connections`, async () => {
    const ps = providers();
    const at = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const [requests, connections] = [await queryRequests(), await connectionsAccepted()];
    const samples = await Promise.all(ps.map((p, i) => p.instant(`sum(vector(${i}))`, at)));
    expect(samples.map((s) => s.value)).toEqual(ps.map((_, i) => i));
    expect((await queryRequests()) - requests).toBe(ROLLOUTS);
    const opened = (await connectionsAccepted()) - connections;
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(CAP);
  });
});

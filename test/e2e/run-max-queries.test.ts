/**
 * `rollgate run --max-queries N` (the built CLI): every rollout's queries go through one pool of
 * the process, so the server never sees more than N requests at once nor more than N
 * connections, and /metrics shows the pool; a cap that is not a whole number from 1 is a usage
 * error (exit 2).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnsweringServer, success, type AnsweringServer } from '../helpers/answering-server.js';
import { killAll, parseMetrics, removeTempDirs, spawnRollgate, startRun, stopRun, waitExit, waitFor, workspace } from './run-helpers.js';

const PLANS = 8;
const CAP = 2;

let server: AnsweringServer;
let atServer = 0;
let maxAtServer = 0;
beforeAll(async () => {
  server = await startAnsweringServer(async () => {
    maxAtServer = Math.max(maxAtServer, ++atServer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    atServer--;
    return success({ resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '0.001'] }] });
  });
});
afterEach(() => killAll());
afterAll(async () => {
  await killAll();
  await server?.close();
  removeTempDirs();
});

/** A plan whose guard asks three queries of its own every second. */
function plan(name: string, routerFile: string): string {
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: ${name} }
spec:
  revision: "1"
  prometheus: { address: ${server.url} }
  traffic: { router: file, file: { path: ${routerFile} } }
  metrics:
    - { name: errors, query: 'sum(rate(errors{app="${name}"}[{{window}}]))', max: 0.01, critical: true }
    - { name: timeouts, query: 'sum(rate(timeouts{app="${name}"}[{{window}}]))', max: 0.01, critical: true }
    - { name: drops, query: 'sum(rate(drops{app="${name}"}[{{window}}]))', max: 0.01, critical: true }
  guard: { interval: 1s, window: 1m }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`;
}

describe('rollgate run --max-queries', () => {
  it(`${PLANS} rollouts guarding three metrics each, --max-queries ${CAP}: never more than ${CAP} requests or connections at the server`, async () => {
    const ws = workspace();
    const plans = path.join(ws.dir, 'plans');
    mkdirSync(plans);
    for (let i = 0; i < PLANS; i++) writeFileSync(path.join(plans, `app-${i}.yaml`), plan(`app-${i}`, path.join(ws.dir, `split-${i}.json`)));
    const run = startRun([plans], { stateDir: ws.stateDir, extraArgs: ['--max-queries', String(CAP)] });
    const url = await run.url();
    await waitFor(() => (server.asked.length >= 5 * PLANS * 3 ? true : undefined), { what: 'five guard evaluations of every rollout' });
    const gauges = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect((await stopRun(run)).code).toBe(0);

    expect(maxAtServer).toBe(CAP);
    expect(server.connections).toBeLessThanOrEqual(CAP);
    const inFlight = gauges.find((s) => s.name === 'rollgate_prometheus_queries_in_flight')?.value;
    const queued = gauges.find((s) => s.name === 'rollgate_prometheus_queries_queued')?.value;
    expect(inFlight).toBeGreaterThanOrEqual(0);
    expect(inFlight).toBeLessThanOrEqual(CAP);
    expect(queued).toBeGreaterThanOrEqual(0);
  });

  it('a cap of 0 is a usage error', async () => {
    const ws = workspace();
    writeFileSync(ws.plan, plan('shop', ws.routerFile));
    const p = spawnRollgate(['run', ws.plan, '--state-dir', ws.stateDir, '--listen', 'off', '--max-queries', '0']);
    expect(await waitExit(p)).toEqual({ code: 2, signal: null });
    expect(p.stderr()).toContain('--max-queries: expected a whole number from 1 to 10000, got "0"');
  });
});

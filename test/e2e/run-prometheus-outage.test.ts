/**
 * Defect 3 of issue 7: during a Prometheus outage the guard must not starve the checkpoints.
 * `rollgate run` (the built CLI) against a server that answers every query with HTTP 500, the
 * guard on: the pending checkpoint is still judged on schedule, holds every retryInterval, and
 * pauses after inconclusiveLimit, while the guard keeps ticking (as nodata).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnsweringServer, type AnsweringServer } from '../helpers/answering-server.js';
import { killAll, parseMetrics, readJournal, removeTempDirs, startRun, stopRun, waitFor, waitForRecord, workspace } from './run-helpers.js';

let server: AnsweringServer;
beforeAll(async () => {
  server = await startAnsweringServer(() => ({ status: 500, body: { status: 'error', errorType: 'internal', error: 'storage unavailable' } }));
});
afterEach(() => killAll());
afterAll(async () => {
  await killAll();
  await server?.close();
  removeTempDirs();
});

function plan(routerFile: string, guard: string): string {
  // Each checkpoint query takes ~3.5 s (4 attempts, backoff 0.5 s, 1 s, 2 s): much longer
  // than the 1 s guard interval, which starved every checkpoint before the fix.
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: shop }
spec:
  revision: "1"
  prometheus: { address: ${server.url}, timeout: 1s }
  traffic: { router: file, file: { path: ${routerFile} } }
  metrics:
    - { name: error-rate, query: 'sum(rate(errors[{{window}}]))', max: 0.01, critical: true }
  guard: ${guard}
  analysis: { retryInterval: 1s, inconclusiveLimit: 2 }
  phases:
    - { name: canary, weight: 10, checkpoints: [1s] }
    - { name: full, weight: 100, checkpoints: [1s] }
`;
}

describe('a Prometheus that answers HTTP 500 to everything', () => {
  it('with the guard on (interval 1s): holds every retryInterval, then the pause of inconclusiveLimit; nothing advances', async () => {
    const ws = workspace();
    writeFileSync(ws.plan, plan(ws.routerFile, '{ interval: 1s, window: 1m }'));
    const run = startRun([ws.plan], { stateDir: ws.stateDir });
    const url = await run.url();
    const pause = await waitForRecord(ws.stateDir, (r) => r.decision === 'pause', 'the pause after inconclusiveLimit', { proc: run, timeoutMs: 45_000 });

    const records = readJournal(ws.stateDir).records;
    expect(records.map((r) => `${r.kind}:${r.decision}`)).toEqual(['lifecycle:start', 'checkpoint:hold', 'checkpoint:hold', 'checkpoint:pause']);
    expect(records.every((r) => r.weight.to === 10)).toBe(true);
    const [, hold1, hold2] = records;
    expect(hold1!.checkpoint).toMatchObject({ index: 1, attempt: 1 });
    expect(hold2!.checkpoint).toMatchObject({ index: 1, attempt: 2 });
    expect(pause.checkpoint).toMatchObject({ index: 1, attempt: 3 });
    expect(pause.reason).toMatch(/failed \(HTTP 500\): storage unavailable.*3 inconclusive judgements in a row \(inconclusiveLimit 2\)/);
    // Each judgement is at least retryInterval after the previous one was due.
    const dues = [hold1, hold2, pause].map((r) => Date.parse(r!.checkpoint!.due));
    expect(dues[1]! - dues[0]!).toBeGreaterThanOrEqual(1_000);
    expect(dues[2]! - dues[1]!).toBeGreaterThanOrEqual(1_000);

    // The guard kept watching meanwhile: its failed evaluations are nodata, never a rollback.
    const nodata = await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const v = parseMetrics(text).find((s) => s.name === 'rollgate_guard_evaluations_total' && s.labels.result === 'nodata')?.value;
        return v !== undefined && v >= 2 ? v : undefined;
      },
      { what: 'guard evaluations counted as nodata' },
    );
    expect(nodata).toBeGreaterThanOrEqual(2);
    expect((await stopRun(run)).code).toBe(0);
  });
});

/**
 * `rollgate run` with hundreds of rollouts stops on SIGTERM within the drain bound, whatever is
 * queued: against a Prometheus that answers only after a minute, the steps under way are
 * drained for at most STOP_DRAIN_MS (8 s) and no step begins after the signal; a SIGTERM
 * during start-up opens no more rollouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAnsweringServer, type AnsweringServer } from '../helpers/answering-server.js';
import { exists, lockFile, planYaml, startRun, stopRun, tempDir, waitExit, waitFor, useRunEnvironment } from './run-helpers.js';

useRunEnvironment();

const STOP_DRAIN_MS = 8_000;

let slow: AnsweringServer;
beforeAll(async () => {
  // No query is ever answered (close() drops the connections): the checkpoints of every rollout hang.
  slow = await startAnsweringServer(() => new Promise(() => {}));
});
afterAll(async () => {
  await slow.close();
});

/** `count` plans in one directory, each with its own file router; the first checkpoint is due at 1 s. */
function fleet(count: number): { plans: string; stateDir: string } {
  const dir = tempDir('rollgate-stop-');
  const plans = path.join(dir, 'plans');
  mkdirSync(plans);
  for (let i = 0; i < count; i++) {
    writeFileSync(
      path.join(plans, `r${i}.yaml`),
      planYaml({ name: `r${i}`, routerFile: path.join(dir, `split-${i}.json`), guard: '{ interval: 30s }', phases: [{ name: 'canary', weight: 10, checkpoints: '[1s, 10m]' }] }),
    );
  }
  return { plans, stateDir: path.join(dir, 'state') };
}

const managing = (stderr: string) => stderr.split('\n').filter((l) => /"msg":"[^"]+: managing"/.test(l)).length;

describe('rollgate run: SIGTERM at scale', () => {
  it('300 rollouts whose checkpoints hang on Prometheus: exit 0 within the drain bound, nothing decided on the hanging checkpoints', async () => {
    const f = fleet(300);
    const run = startRun([f.plans], { stateDir: f.stateDir, prometheus: slow.url, listen: 'off' });
    await waitFor(() => run.stderr().includes('rollgate run started'), { what: 'rollgate run to start its 300 rollouts', timeoutMs: 60_000, detail: () => run.stderr().slice(-2000) });
    expect(managing(run.stderr())).toBe(300);
    // The checkpoints are due and their queries hang.
    await waitFor(() => slow.asked.length >= 10, { what: 'checkpoint queries in flight', timeoutMs: 30_000 });
    const stop = await stopRun(run, 60_000);
    expect(stop.code, run.stderr().slice(-2000)).toBe(0);
    // The drain bound plus the rest of a clean stop (notifiers, journals, lock).
    expect(stop.ms).toBeLessThan(STOP_DRAIN_MS + 5_000);
    expect(run.stderr()).toMatch(/steps still under way after 8 s; stopping anyway/);
    expect(run.stderr()).toMatch(/rollgate run stopped cleanly/);
    expect(exists(lockFile(f.stateDir))).toBe(false);
    // Nothing was decided on the hanging checkpoints: every journal ends with the start.
    expect(run.stderr()).not.toMatch(/"kind":"checkpoint"/);
  }, 180_000);

  it('a SIGTERM during the start-up of 600 rollouts opens no more of them and stops cleanly', async () => {
    const f = fleet(600);
    const run = startRun([f.plans], { stateDir: f.stateDir, prometheus: slow.url, listen: 'off' });
    await waitFor(() => managing(run.stderr()) > 0, { what: 'the first rollout opened', timeoutMs: 60_000, intervalMs: 2 });
    run.child.kill('SIGTERM');
    const exit = await waitExit(run, 30_000);
    expect(exit, run.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(managing(run.stderr())).toBeLessThan(600);
    expect(run.stderr()).toMatch(/rollgate run stopped cleanly/);
    expect(exists(lockFile(f.stateDir))).toBe(false);
  }, 180_000);
});

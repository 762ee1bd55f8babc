/**
 * `rollgate run` with 500 rollouts: the CI variant of bench/scale.bench.mjs, a test of
 * correctness under scale, not of timing. Each rollout has its own plan file and file-router
 * target, 3 metrics (distinct queries per rollout, constant healthy values from a real
 * Prometheus), a guard every 5 s on 2 of them, and checkpoints 5-20 s apart, then a last phase
 * that still runs (its guard ticking) at the SIGTERM. Under `ulimit -n 1024`, every rollout's
 * first checkpoint must be judged, with no EMFILE in the log, no `hold` from the file router,
 * no rollback, and a clean exit on SIGTERM. Deadlines are generous (a loaded 2-core machine
 * takes its time); nothing waits a fixed time.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal, startRun, stopRun, tempDir, useRunEnvironment, waitFor, type DecisionRecord } from './run-helpers.js';

const ROLLOUTS = 500;
/** A common default limit of open files: a journal fd and a socket per rollout would exceed it here. */
const MAX_OPEN_FILES = 1024;
const NAMESPACE = 'scale';
const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;
/** Checkpoint spacing of rollout i: 5 to 20 s, spread over the rollouts. */
const spacing = (i: number) => 5 + ((i * 7) % 16);

/** One sample of `value`, labelled with the rollout: each rollout sends its own queries. */
const constant = (value: number) => `label_replace(sum(vector(${value})), "rollout", "{{rollout}}", "", "")`;

function planYaml(i: number, dir: string): string {
  const s = spacing(i);
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: ${name(i)}, namespace: ${NAMESPACE} }
spec:
  revision: "r${i}"
  traffic: { router: file, file: { path: ${path.join(dir, 'routes', `${name(i)}.json`)} } }
  metrics:
    - { name: error-rate, query: '${constant(0.001)}', max: 0.01, critical: true }
    - { name: p99-latency, query: '${constant(0.12)}', max: 0.5, critical: true }
    - { name: ready, query: '${constant(1)}', min: 0.99 }
  guard: { interval: 5s, window: 30s, consecutive: 2, metrics: [error-rate, p99-latency] }
  phases:
    - { name: canary, weight: 10, checkpoints: [${s}s, ${2 * s}s] }
    - { name: full, weight: 100, checkpoints: [10m] }
`;
}

describe(`rollgate run with ${ROLLOUTS} rollouts`, () => {
  const env = useRunEnvironment();

  it(
    `judges every rollout's first checkpoint under ulimit -n ${MAX_OPEN_FILES}, with no EMFILE, no router hold, and stops cleanly on SIGTERM`,
    async () => {
      const dir = tempDir('rollgate-scale-');
      const plans = path.join(dir, 'plans');
      mkdirSync(plans);
      mkdirSync(path.join(dir, 'routes'));
      for (let i = 1; i <= ROLLOUTS; i++) writeFileSync(path.join(plans, `${name(i)}.yaml`), planYaml(i, dir));
      const stateDir = path.join(dir, 'state');
      const run = startRun([plans], { stateDir, prometheus: env.prom.url, maxOpenFiles: MAX_OPEN_FILES });
      const limit = new RegExp(`^Max open files\\s+${MAX_OPEN_FILES}\\s+${MAX_OPEN_FILES}\\b`, 'm');
      await waitFor(() => limit.test(readFileSync(`/proc/${run.pid}/limits`, 'utf8')), { what: `the limit of ${MAX_OPEN_FILES} open files to apply` });

      // Each journal is read until it holds the first checkpoint's record.
      const pending = new Set(Array.from({ length: ROLLOUTS }, (_, k) => `${NAMESPACE}/${name(k + 1)}`));
      const firstCheckpoint = new Map<string, DecisionRecord>();
      await waitFor(
        () => {
          if (run.exit()) throw new Error(`rollgate run exited (${JSON.stringify(run.exit())})`);
          for (const id of pending) {
            const r = readJournal(stateDir, id).records.find((x) => x.kind === 'checkpoint' && x.phaseIndex === 0 && x.checkpoint?.index === 1);
            if (r) {
              firstCheckpoint.set(id, r);
              pending.delete(id);
            }
          }
          return pending.size === 0;
        },
        {
          what: `the first checkpoint of all ${ROLLOUTS} rollouts`,
          timeoutMs: 150_000,
          intervalMs: 1000,
          detail: () => `still without one: ${pending.size} (${[...pending].slice(0, 5).join(', ')}...)\nrun stderr (tail):\n${run.stderr().slice(-3000)}`,
        },
      );

      const stop = await stopRun(run, 60_000);
      expect(stop.code, run.stderr().slice(-3000)).toBe(0);
      expect(run.stderr()).toContain('rollgate run stopped cleanly');
      expect(run.stderr()).not.toContain('EMFILE');

      expect(firstCheckpoint.size).toBe(ROLLOUTS);
      const records = [...firstCheckpoint.keys()].flatMap((id) => readJournal(stateDir, id).records);
      expect(records.filter((r) => r.decision === 'start')).toHaveLength(ROLLOUTS);
      const routerHolds = records.filter((r) => r.kind === 'lifecycle' && r.decision === 'hold');
      expect(routerHolds.map((r) => `${r.rollout}: ${r.reason}`)).toEqual([]);
      // Healthy values everywhere: nothing may ever roll back.
      expect(records.filter((r) => r.decision === 'rollback').map((r) => `${r.rollout}: ${r.reason}`)).toEqual([]);
    },
    240_000,
  );
});

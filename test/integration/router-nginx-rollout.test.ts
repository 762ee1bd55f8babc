/**
 * A whole rollout driven by the real engine (RolloutRunner + Scheduler on a virtual clock,
 * scripted metrics) through the registry's nginx router against a real nginx: after every
 * decision, real requests show the phase's split, and the journal's applied marks carry what
 * nginx serves.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engine, MIN, planFrom, T0 } from '../helpers/engine.js';
import { sendRequests, sharePercent } from '../../src/devtools/test-backends.js';
import { createRouter } from '../../src/routers/registry.js';
import { silentLogger } from '../../src/support/log.js';
import { isAppliedMark } from '../../src/core/record.js';
import { startNginxRig, type NginxRig } from './router-nginx-helpers.js';

let rig: NginxRig;
beforeEach(async () => {
  rig = await startNginxRig({ rollout: 'checkout' });
});
afterEach(() => rig?.stop());

function plan() {
  const nginx = {
    configFile: rig.configFile,
    stable: rig.backends.stable.address,
    canary: [rig.backends.canary.address],
    reload: rig.nginx.reloadArgv,
    test: rig.nginx.testArgv,
  };
  return planFrom(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: checkout, namespace: shop }
spec:
  revision: "v2"
  traffic: { router: nginx, nginx: ${JSON.stringify(nginx)} }
  metrics:
    - { name: error-rate, query: 'errors{phase="{{phase}}"}', max: 0.01, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: dark, weight: 0, mirror: 20, checkpoints: [10m] }
    - { name: canary, weight: 5, checkpoints: [10m] }
    - { name: half, weight: 50, checkpoints: [10m] }
    - { name: full, weight: 100, checkpoints: [10m] }
`);
}

/** Measures live traffic (and mirrored copies) right now. */
async function measure(n: number): Promise<{ live: number; mirrored: number }> {
  rig.backends.reset();
  const tally = await sendRequests(`${rig.nginx.url}/`, n);
  expect(tally.errors, tally.errorSamples.join('; ')).toBe(0);
  await new Promise((r) => setTimeout(r, 150)); // mirrored copies finish after the answers
  const mirrored = rig.backends.canary.requests.filter((r) => r.mirrored).length;
  return { live: sharePercent(tally, 'canary'), mirrored: (mirrored * 100) / n };
}

describe('a rollout through the nginx router', () => {
  it('moves real traffic phase by phase to 100%, journalling what nginx serves', async () => {
    const router = createRouter(plan().plan, { log: silentLogger() });
    const e = await engine(plan(), () => 0.001, { router });
    const seen: Array<{ phase: string; weight: number; live: number; mirrored: number }> = [];
    for (const t of [1, 11, 21, 31]) {
      await e.runUntil(T0 + t * MIN);
      const m = await measure(t === 21 ? 6_000 : 1_000);
      seen.push({ phase: e.runner.state.phaseName, weight: e.runner.state.weight, ...m });
    }
    expect(seen.map((s) => [s.phase, s.weight])).toEqual([
      ['dark', 0],
      ['canary', 5],
      ['half', 50],
      ['full', 100],
    ]);
    const [dark, canary, half, full] = seen;
    expect(dark!.live).toBe(0);
    expect(Math.abs(dark!.mirrored - 20)).toBeLessThanOrEqual(5);
    expect(Math.abs(canary!.live - 5)).toBeLessThanOrEqual(3);
    expect(canary!.mirrored).toBe(0);
    expect(Math.abs(half!.live - 50)).toBeLessThanOrEqual(3);
    expect(full!.live).toBe(100);

    await e.runUntil(T0 + 60 * MIN);
    expect(e.runner.state.status).toBe('complete');
    const marks = (await e.journal.read(e.runner.id)).filter(isAppliedMark);
    expect(marks.map((m) => m.effective)).toEqual([
      { weight: 0, mirror: 20 },
      { weight: 5, mirror: 0 },
      { weight: 50, mirror: 0 },
      { weight: 100, mirror: 0 },
    ]);
    expect(await router.read()).toEqual({ weight: 100, mirror: 0 });
  });

  it('a failing checkpoint rolls real traffic back to stable', async () => {
    const router = createRouter(plan().plan, { log: silentLogger() });
    const e = await engine(plan(), (q) => (q.includes('phase="half"') ? 0.2 : 0.001), { router });
    await e.runUntil(T0 + 21 * MIN);
    expect(e.runner.state.weight).toBe(50);
    expect(Math.abs((await measure(6_000)).live - 50)).toBeLessThanOrEqual(3);
    await e.runUntil(T0 + 60 * MIN);
    expect(e.runner.state.status).toBe('rolled-back');
    expect(await measure(1_000)).toEqual({ live: 0, mirrored: 0 });
  });
});

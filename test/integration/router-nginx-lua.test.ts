/**
 * The nginx router's lua mode against a real nginx 1.22 (two workers) with Debian's Lua
 * module, configured exactly as docs/routers.md tells users (the same lines as reload mode),
 * with real stable/canary backends: weight and mirror changes go through the control endpoint
 * on the unix socket, never through a reload, so steady keep-alive traffic loses nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { sendRequests, sharePercent, startSteadyLoad, type SteadyResponse } from '../../src/devtools/test-backends.js';
import { nginxLuaInstalled } from '../../src/devtools/local-nginx.js';
import { NginxRouter, socketRequest } from '../../src/routers/nginx.js';
import { CONTROL_PATH } from '../../src/routers/nginx-lua-config.js';
import { createRouter } from '../../src/routers/registry.js';
import { silentLogger } from '../../src/support/log.js';
import { engine, MIN, planFrom, T0 } from '../helpers/engine.js';
import { ROUNDED_SPLITS, startNginxRig, type NginxRig } from './router-nginx-helpers.js';

let rig: NginxRig;
beforeAll(async () => {
  expect(nginxLuaInstalled(), 'libnginx-mod-http-lua is not installed (node scripts/ensure-tools.mjs)').toBe(true);
  rig = await startNginxRig({ mode: 'lua' });
});
afterAll(() => rig?.stop());
beforeEach(() => rig.backends.reset());

const reloads = () => (rig.nginx.log().match(/reconfiguring/g) ?? []).length;

function waitFor(cond: () => boolean, what: string, timeout = 20_000): Promise<void> {
  return vi.waitFor(
    () => {
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout, interval: 10 },
  );
}

/** Half-width of the band a binomial share stays in: 5 standard deviations, in points. */
function tolerance(weight: number, n: number): number {
  const p = weight / 100;
  return 5 * 100 * Math.sqrt((p * (1 - p)) / n);
}

async function canaryShare(n: number): Promise<number> {
  const tally = await sendRequests(`${rig.nginx.url}/`, n);
  expect(tally.errors, tally.errorSamples.join('; ')).toBe(0);
  return sharePercent(tally, 'canary');
}

describe('lua mode: no dropped requests', () => {
  it('steady keep-alive traffic through 20 weight changes: 0 failed requests, no reload, and the split follows every weight', async () => {
    await rig.router.apply({ weight: 0, mirror: 0 });
    const reloadsBefore = reloads();
    const weights = [5, 10, 20, 50, 80, 100, 0, 33.33, 66.67, 1, 99, 50, 25, 75, 0, 100, 40, 60, 12.5, 0];
    const perStep = 500;
    const load = startSteadyLoad(`${rig.nginx.url}/`, { connections: 8 });
    const steps: Array<{ weight: number; n: number; share: number }> = [];
    try {
      await waitFor(() => load.responses.length >= 200, 'the load to run');
      for (const weight of weights) {
        const effective = await rig.router.apply({ weight, mirror: 0 });
        expect(effective).toEqual({ weight, mirror: 0 });
        const returned = performance.now();
        const after = (r: SteadyResponse) => r.sentAt > returned;
        await waitFor(() => load.responses.filter(after).length >= perStep, `${perStep} requests at ${weight}%`);
        const sample = load.responses.filter(after).slice(0, perStep);
        const canary = sample.filter((r) => r.backend === 'canary').length;
        steps.push({ weight, n: sample.length, share: (canary * 100) / sample.length });
      }
    } finally {
      await load.stop();
    }
    const failures = load.responses.filter((r) => r.backend === null);
    expect(failures.map((r) => r.error)).toEqual([]);
    expect(load.responses.length).toBeGreaterThan(weights.length * perStep);
    expect(reloads()).toBe(reloadsBefore);
    for (const s of steps) {
      expect(Math.abs(s.share - s.weight), `canary share ${s.share}% of ${s.n} requests at weight ${s.weight}%`).toBeLessThanOrEqual(tolerance(s.weight, s.n));
    }
  }, 120_000);
});

describe('lua mode: mirror', () => {
  it('copies 20% of requests (±5 points), independently of the live split, with no reload', async () => {
    const reloadsBefore = reloads();
    expect(await rig.router.apply({ weight: 10, mirror: 20 })).toEqual({ weight: 10, mirror: 20 });
    const tally = await sendRequests(`${rig.nginx.url}/`, 1_000);
    expect(tally.errors).toBe(0);
    expect(Math.abs(sharePercent(tally, 'canary') - 10)).toBeLessThanOrEqual(tolerance(10, 1_000));
    const mirrored = () => rig.backends.canary.requests.filter((r) => r.mirrored).length;
    await waitFor(() => mirrored() >= 150, '150 mirrored copies');
    const liveAtCanary = rig.backends.canary.requests.filter((r) => !r.mirrored).length;
    expect(liveAtCanary).toBe(tally.byBackend.canary ?? 0);
    expect(Math.abs(mirrored() / 10 - 20)).toBeLessThanOrEqual(5);
    expect(reloads()).toBe(reloadsBefore);
  });

  it('copies every request at 100% while clients only see stable answers, and none at 0%', async () => {
    await rig.router.apply({ weight: 0, mirror: 100 });
    const tally = await sendRequests(`${rig.nginx.url}/orders?id=7`, 200);
    expect(tally.byBackend).toEqual({ stable: 200 });
    await waitFor(() => rig.backends.canary.requests.length >= 200, '200 mirrored copies');
    expect(rig.backends.canary.requests.every((r) => r.mirrored && r.url === '/orders?id=7')).toBe(true);

    await rig.router.apply({ weight: 0, mirror: 0 });
    rig.backends.reset();
    const quiet = await sendRequests(`${rig.nginx.url}/`, 200);
    expect(quiet.byBackend).toEqual({ stable: 200 });
    // A barrier instead of a sleep: nginx starts a copy before it proxies the live request, so
    // any copy of those 200 would have started before the barrier's copy, sent after them.
    await rig.router.apply({ weight: 0, mirror: 100 });
    await sendRequests(`${rig.nginx.url}/barrier`, 1);
    await waitFor(() => rig.backends.canary.requests.some((r) => r.url === '/barrier'), 'the barrier copy');
    expect(rig.backends.canary.requests.map((r) => r.url)).toEqual(['/barrier']);
  });
});

describe('lua mode: what read() reports, across reloads and restarts', () => {
  it('round-trips through read() with shares rounded to 0.01%', async () => {
    for (const [asked, effective] of ROUNDED_SPLITS) {
      expect(await rig.router.apply(asked)).toEqual(effective);
      expect(await rig.router.read()).toEqual(effective);
    }
  });

  it('keeps the split across `nginx -s reload` (the shared dict survives it)', async () => {
    await rig.router.apply({ weight: 100, mirror: 0 });
    const before = reloads();
    execFileSync(rig.nginx.reloadArgv[0]!, rig.nginx.reloadArgv.slice(1));
    await waitFor(() => reloads() > before, 'nginx to reload');
    expect(await rig.router.read()).toEqual({ weight: 100, mirror: 0 });
    expect(await canaryShare(300)).toBe(100);
  });

  it('after an nginx restart reads 0/0 (what nginx routes: all stable) until the split is applied again', async () => {
    await rig.router.apply({ weight: 100, mirror: 0 });
    await rig.nginx.stopProcess();
    await expect(rig.router.read()).rejects.toThrow(/control endpoint .* did not answer/);
    await rig.nginx.startProcess();
    expect(await rig.router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(await canaryShare(300)).toBe(0);
    const reloadsBefore = reloads();
    expect(await rig.router.apply({ weight: 100, mirror: 0 })).toEqual({ weight: 100, mirror: 0 });
    expect(reloads()).toBe(reloadsBefore);
    expect(await rig.router.read()).toEqual({ weight: 100, mirror: 0 });
    expect(await canaryShare(300)).toBe(100);
  });
});

describe('lua mode: the engine after an nginx restart', () => {
  it('the drift check gets the journalled split back into a restarted nginx', async () => {
    const nginx = {
      configFile: rig.configFile,
      stable: rig.backends.stable.address,
      canary: rig.backends.canary.address,
      reload: rig.nginx.reloadArgv,
      test: rig.nginx.testArgv,
      mode: 'lua',
    };
    const loaded = planFrom(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: checkout, namespace: shop }
spec:
  revision: "v2"
  traffic: { router: nginx, nginx: ${JSON.stringify(nginx)} }
  metrics:
    - { name: error-rate, query: 'errors', max: 0.01, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: full, weight: 100, checkpoints: [1h] }
`);
    const router = createRouter(loaded.plan, { log: silentLogger() });
    const e = await engine(loaded, () => 0.001, { router, driftCheckMs: 30_000 });
    await e.runUntil(T0 + 2 * MIN);
    expect(await router.read()).toEqual({ weight: 100, mirror: 0 });
    await rig.nginx.stopProcess();
    await rig.nginx.startProcess();
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    await e.runUntil(T0 + 3 * MIN);
    expect(await router.read()).toEqual({ weight: 100, mirror: 0 });
    expect(await canaryShare(300)).toBe(100);
  });
});

describe('lua mode: the include and the control endpoint', () => {
  it('the include does not change with the split; re-applying the same split sends nothing', async () => {
    await rig.router.apply({ weight: 20, mirror: 0 });
    const text = await readFile(rig.configFile, 'utf8');
    await rig.router.apply({ weight: 70, mirror: 5 });
    expect(await readFile(rig.configFile, 'utf8')).toBe(text);
    expect(text).not.toMatch(/^split_clients/m);
  });

  it('rejects a malformed split with HTTP 400 and keeps the one in effect', async () => {
    await rig.router.apply({ weight: 40, mirror: 0 });
    for (const query of ['weight=abc&mirror=0', 'weight=10001&mirror=0', 'weight=5.5&mirror=0', 'weight=-1&mirror=0', 'weight=10']) {
      const res = await socketRequest(rig.router.probeSocket, 'PUT', `${CONTROL_PATH}?${query}`, 2_000);
      expect(res.status, query).toBe(400);
    }
    expect((await socketRequest(rig.router.probeSocket, 'POST', CONTROL_PATH, 2_000)).status).toBe(405);
    expect(await rig.router.read()).toEqual({ weight: 40, mirror: 0 });
  });

  it('is reachable on the unix socket only: the public port does not route /split', async () => {
    await rig.router.apply({ weight: 0, mirror: 0 });
    rig.backends.reset();
    const tally = await sendRequests(`${rig.nginx.url}${CONTROL_PATH}?weight=10000&mirror=0`, 20);
    expect(tally.byBackend).toEqual({ stable: 20 }); // proxied like any request, not handled
    expect(await rig.router.read()).toEqual({ weight: 0, mirror: 0 });
  });

  it('a router without `mode` picks lua on an nginx with the Lua module (no reload)', async () => {
    const auto = new NginxRouter({
      rollout: 'checkout',
      configFile: rig.configFile,
      stable: [rig.backends.stable.address],
      canary: [rig.backends.canary.address],
      test: rig.nginx.testArgv,
      reload: rig.nginx.reloadArgv,
    });
    const before = reloads();
    expect(await auto.apply({ weight: 30, mirror: 0 })).toEqual({ weight: 30, mirror: 0 });
    expect(auto.modeInUse()).toBe('lua');
    expect(reloads()).toBe(before);
  });
});

describe('auto mode on a plain nginx (no Lua module)', () => {
  it('falls back to reload mode, and the split still moves', async () => {
    const plain = await startNginxRig({ mode: 'reload', routerMode: 'auto' });
    try {
      expect(await plain.router.apply({ weight: 100, mirror: 0 })).toEqual({ weight: 100, mirror: 0 });
      expect(plain.router.modeInUse()).toBe('reload');
      expect(await readFile(plain.configFile, 'utf8')).toMatch(/^split_clients/m);
      const tally = await sendRequests(`${plain.nginx.url}/`, 200);
      expect(tally.byBackend).toEqual({ canary: 200 });
      expect(await plain.router.read()).toEqual({ weight: 100, mirror: 0 });
    } finally {
      await plain.stop();
    }
  });
});

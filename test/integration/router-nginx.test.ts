/**
 * The nginx router against a real nginx 1.22 (two workers) on a free loopback port, configured
 * exactly as docs/routers.md tells users, with real stable/canary backends: every split is
 * measured with real requests sent right after apply returns.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendRequests, sharePercent } from '../../src/devtools/test-backends.js';
import { NginxRouter } from '../../src/routers/nginx.js';
import { RouterError } from '../../src/core/router.js';
import { ROUNDED_SPLITS, startNginxRig, type NginxRig } from './router-nginx-helpers.js';

let rig: NginxRig;
beforeAll(async () => {
  rig = await startNginxRig();
});
afterAll(() => rig?.stop());
beforeEach(() => rig.backends.reset());

const reloads = () => (rig.nginx.log().match(/reconfiguring/g) ?? []).length;

async function canaryShare(n: number): Promise<number> {
  const tally = await sendRequests(`${rig.nginx.url}/`, n);
  expect(tally.errors, tally.errorSamples.join('; ')).toBe(0);
  expect(tally.total).toBe(n);
  return sharePercent(tally, 'canary');
}

describe('live traffic follows the split as soon as apply returns', () => {
  // Requests are split by a hash of $request_id, i.e. at random: the tolerance is ±3 points,
  // and the sample is large enough for that band to be >4 standard deviations wide (1,000
  // requests at 5%; at 50%, 1,000 requests would give a 1.9σ band, so 6,000 are sent).
  it.each([
    { label: '0%', weight: 0, n: 1_000, tolerance: 0 },
    { label: '5%', weight: 5, n: 1_000, tolerance: 3 },
    { label: '50%', weight: 50, n: 6_000, tolerance: 3 },
    { label: '100%', weight: 100, n: 1_000, tolerance: 0 },
    { label: '0.5%', weight: 0.5, n: 4_000, tolerance: 0.5 },
    { label: 'back to 0%', weight: 0, n: 1_000, tolerance: 0 },
  ])('canary $label of $n requests within ±$tolerance points', async ({ weight, n, tolerance }) => {
    const effective = await rig.router.apply({ weight, mirror: 0 });
    expect(effective).toEqual({ weight, mirror: 0 });
    const share = await canaryShare(n);
    expect(Math.abs(share - weight)).toBeLessThanOrEqual(tolerance);
    expect(rig.backends.canary.requests.filter((r) => r.mirrored)).toHaveLength(0);
  });

  it('flips between 0% and 100% with no request seeing the previous split', async () => {
    for (const weight of [100, 0, 100, 0]) {
      await rig.router.apply({ weight, mirror: 0 });
      expect(await canaryShare(300)).toBe(weight);
    }
  });
});

describe('mirror', () => {
  it('copies every request to the canary at 100% while clients only see stable answers', async () => {
    await rig.router.apply({ weight: 0, mirror: 100 });
    const tally = await sendRequests(`${rig.nginx.url}/orders?id=7`, 200);
    expect(tally.byBackend).toEqual({ stable: 200 });
    await waitFor(() => rig.backends.canary.requests.length >= 200);
    const copies = rig.backends.canary.requests;
    expect(copies).toHaveLength(200);
    expect(copies.every((r) => r.mirrored && r.url === '/orders?id=7')).toBe(true);
    expect(rig.backends.stable.requests.filter((r) => r.mirrored)).toHaveLength(0);
  });

  it('copies 20% of requests (±5 points), independently of the live split', async () => {
    await rig.router.apply({ weight: 10, mirror: 20 });
    const tally = await sendRequests(`${rig.nginx.url}/`, 1_000);
    expect(tally.errors).toBe(0);
    const live = sharePercent(tally, 'canary');
    expect(Math.abs(live - 10)).toBeLessThanOrEqual(3);
    const liveAtCanary = () => rig.backends.canary.requests.filter((r) => !r.mirrored).length;
    const mirrored = () => rig.backends.canary.requests.filter((r) => r.mirrored).length;
    await waitFor(() => mirrored() >= 150);
    await new Promise((r) => setTimeout(r, 200)); // stragglers
    expect(liveAtCanary()).toBe(tally.byBackend.canary ?? 0);
    expect(Math.abs(mirrored() / 10 - 20)).toBeLessThanOrEqual(5);
  });

  it('sends no copies at 0%', async () => {
    await rig.router.apply({ weight: 0, mirror: 0 });
    await sendRequests(`${rig.nginx.url}/`, 200);
    await new Promise((r) => setTimeout(r, 200));
    expect(rig.backends.canary.requests).toHaveLength(0);
  });
});

describe('the include file', () => {
  it('round-trips through read(), with shares rounded to the 0.01% split_clients accepts', async () => {
    for (const [asked, effective] of ROUNDED_SPLITS) {
      expect(await rig.router.apply(asked)).toEqual(effective);
      expect(await rig.router.read()).toEqual(effective);
    }
  });

  it('reads null when the file does not exist', async () => {
    const router = new NginxRouter({ rollout: 'checkout', configFile: join(rig.nginx.dir, 'missing.conf'), stable: ['127.0.0.1:1'], canary: ['127.0.0.1:2'], test: rig.nginx.testArgv, reload: rig.nginx.reloadArgv });
    expect(await router.read()).toBeNull();
  });

  it('re-applying the split nginx already serves neither rewrites the file nor reloads', async () => {
    await rig.router.apply({ weight: 20, mirror: 0 });
    const before = { text: await readFile(rig.configFile, 'utf8'), reloads: reloads() };
    expect(await rig.router.apply({ weight: 20, mirror: 0 })).toEqual({ weight: 20, mirror: 0 });
    expect(await readFile(rig.configFile, 'utf8')).toBe(before.text);
    expect(reloads()).toBe(before.reloads);
  });

  it('a file that disagrees with what nginx serves is reloaded on re-apply', async () => {
    await rig.router.apply({ weight: 0, mirror: 0 });
    // Someone rewrites the file by hand (here: to a 100% split) without reloading.
    const text = await readFile(rig.configFile, 'utf8');
    await rig.router.apply({ weight: 100, mirror: 0 });
    const hundred = await readFile(rig.configFile, 'utf8');
    await writeFile(rig.configFile, text); // 0% on disk; nginx serves 100%
    await rig.router.apply({ weight: 0, mirror: 0 }); // same content as on disk, but not served
    expect(await canaryShare(300)).toBe(0);
    expect(hundred).not.toBe(text);
  });
});

describe('a configuration nginx rejects', () => {
  it('restores the previous file, keeps nginx serving the previous split and names file and cause', async () => {
    await rig.router.apply({ weight: 100, mirror: 0 });
    const before = await readFile(rig.configFile, 'utf8');
    const reloadsBefore = reloads();
    // Port 0 passes the router's syntax check but `nginx -t` rejects it.
    const broken = new NginxRouter({
      rollout: 'checkout',
      configFile: rig.configFile,
      stable: [rig.backends.stable.address],
      canary: ['127.0.0.1:0'],
      test: rig.nginx.testArgv,
      reload: rig.nginx.reloadArgv,
    });
    const err = await broken.apply({ weight: 0, mirror: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterError);
    const message = (err as Error).message;
    expect(message).toContain(rig.configFile);
    expect(message).toMatch(/invalid port/);
    expect(message).toContain('previous content restored');
    expect(await readFile(rig.configFile, 'utf8')).toBe(before);
    expect(reloads()).toBe(reloadsBefore);
    expect(await canaryShare(500)).toBe(100);
  });

  it('a failing test command (another part of nginx.conf is broken) changes nothing', async () => {
    await rig.router.apply({ weight: 0, mirror: 0 });
    const before = await readFile(rig.configFile, 'utf8');
    const badConf = join(rig.nginx.dir, 'broken-nginx.conf');
    await writeFile(badConf, 'events {}\nhttp { server { listen 127.0.0.1:1; bogus_directive on; } }\n');
    const router = new NginxRouter({
      rollout: 'checkout',
      configFile: rig.configFile,
      stable: [rig.backends.stable.address],
      canary: [rig.backends.canary.address],
      test: ['/usr/sbin/nginx', '-p', rig.nginx.dir, '-c', badConf, '-t'],
      reload: rig.nginx.reloadArgv,
    });
    await expect(router.apply({ weight: 100, mirror: 0 })).rejects.toThrow(/unknown directive "bogus_directive"/);
    expect(await readFile(rig.configFile, 'utf8')).toBe(before);
    expect(await canaryShare(300)).toBe(0);
  });

  it('a missing reload command fails loudly and restores the file', async () => {
    const before = await readFile(rig.configFile, 'utf8');
    const router = new NginxRouter({
      rollout: 'checkout',
      configFile: rig.configFile,
      stable: [rig.backends.stable.address],
      canary: [rig.backends.canary.address],
      test: rig.nginx.testArgv,
      reload: ['/nonexistent/nginx-reload'],
    });
    await expect(router.apply({ weight: 40, mirror: 0 })).rejects.toThrow(/reload failed .*\/nonexistent\/nginx-reload not found/);
    expect(await readFile(rig.configFile, 'utf8')).toBe(before);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

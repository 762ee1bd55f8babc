/**
 * The HAProxy router against a real HAProxy 2.6 on a free loopback port (runtime API on a unix
 * socket, and on a loopback TCP port), with real stable/canary backends: every split is
 * measured with real requests sent right after apply returns.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHaproxy, type RunningHaproxy } from '../../src/devtools/local-haproxy.js';
import { sendRequests, sharePercent, startBackends, type TestBackends } from '../../src/devtools/test-backends.js';
import { HaproxyRouter, haproxyRouter } from '../../src/routers/haproxy.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { pairPercent, weightPairFor } from '../../src/routers/haproxy-runtime.js';
import { RouterError, type TrafficRouter } from '../../src/core/router.js';

let backends: TestBackends<'stable' | 'canary'>;
let haproxy: RunningHaproxy;
/** The router as the registry builds it (wrapped by split-guard.ts), with HAProxy's weight pair. */
let router: TrafficRouter & Pick<HaproxyRouter, 'readPair'>;

beforeAll(async () => {
  backends = await startBackends(['stable', 'canary'] as const);
  haproxy = await startHaproxy({
    tcpSocket: true,
    config: ({ port }) => `
frontend web
  bind 127.0.0.1:${port}
  default_backend checkout
backend checkout
  balance roundrobin
  server stable ${backends.stable.address} weight 256
  server canary ${backends.canary.address} weight 0
`,
  });
  const runtime = new HaproxyRouter({ socket: haproxy.socket, backend: 'checkout', stableServer: 'stable', canaryServer: 'canary' });
  router = Object.assign(guardSplits(runtime, haproxyRouter), { readPair: () => runtime.readPair() });
});
afterAll(async () => {
  await haproxy?.stop();
  await backends?.close();
});
beforeEach(() => backends.reset());

async function canaryShare(n: number): Promise<number> {
  const tally = await sendRequests(`${haproxy.url}/`, n);
  expect(tally.errors, tally.errorSamples.join('; ')).toBe(0);
  return sharePercent(tally, 'canary');
}

describe('live traffic follows the weights as soon as apply returns', () => {
  it.each([
    { label: '0%', weight: 0, n: 1_000, tolerance: 0 },
    { label: '5%', weight: 5, n: 1_000, tolerance: 3 },
    { label: '50%', weight: 50, n: 1_000, tolerance: 3 },
    { label: '100%', weight: 100, n: 1_000, tolerance: 0 },
    { label: '0.5%', weight: 0.5, n: 4_000, tolerance: 0.5 },
    { label: 'back to 0%', weight: 0, n: 1_000, tolerance: 0 },
  ])('canary $label of $n requests within ±$tolerance points', async ({ weight, n, tolerance }) => {
    const effective = await router.apply({ weight, mirror: 0 });
    expect(effective).toEqual({ weight: pairPercent(weightPairFor(weight)), mirror: 0 });
    const share = await canaryShare(n);
    expect(Math.abs(share - weight)).toBeLessThanOrEqual(tolerance);
  });

  it('reports the rounded split the integer weights give, and read() agrees', async () => {
    const effective = await router.apply({ weight: 33.3, mirror: 0 });
    expect(effective.weight).not.toBe(33.3);
    expect(Math.abs(effective.weight - 33.3)).toBeLessThan(0.05);
    expect(await router.read()).toEqual(effective);
    expect(await router.readPair()).toEqual(weightPairFor(33.3));
  });

  it('re-applying the same split is a no-op that returns the same split', async () => {
    const first = await router.apply({ weight: 12, mirror: 0 });
    const pair = await router.readPair();
    expect(await router.apply({ weight: 12, mirror: 0 })).toEqual(first);
    expect(await router.readPair()).toEqual(pair);
  });

  it('works over a TCP runtime API address as well', async () => {
    const tcp = new HaproxyRouter({ socket: haproxy.tcpSocket!, backend: 'checkout', stableServer: 'stable', canaryServer: 'canary' });
    expect(await tcp.apply({ weight: 100, mirror: 0 })).toEqual({ weight: 100, mirror: 0 });
    expect(await canaryShare(200)).toBe(100);
    expect(await router.read()).toEqual({ weight: 100, mirror: 0 });
  });
});

describe('refusals', () => {
  it('cannot mirror', async () => {
    await expect(router.apply({ weight: 10, mirror: 5 })).rejects.toThrow(/cannot mirror/);
  });

  it('names the server HAProxy does not know', async () => {
    const wrong = new HaproxyRouter({ socket: haproxy.socket, backend: 'checkout', stableServer: 'stable', canaryServer: 'canary-v2' });
    const err = await wrong.apply({ weight: 10, mirror: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterError);
    expect((err as Error).message).toMatch(/checkout\/canary-v2.*No such server/);
  });

  it('names the backend HAProxy does not know', async () => {
    const wrong = new HaproxyRouter({ socket: haproxy.socket, backend: 'payments', stableServer: 'stable', canaryServer: 'canary' });
    await expect(wrong.read()).rejects.toThrow(/get weight payments\/stable.*No such backend/);
  });
});

describe('the runtime API socket going away', () => {
  it('fails loudly while HAProxy is down, then applies again once it is back', async () => {
    await router.apply({ weight: 50, mirror: 0 });
    await haproxy.stopProcess();
    try {
      const err = await router.apply({ weight: 5, mirror: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RouterError);
      expect((err as Error).message).toContain(haproxy.socket);
      expect((err as Error).message).toMatch(/UNREACHABLE: .*(connection refused|does not exist)/);
      await expect(router.read()).rejects.toThrow(/UNREACHABLE/);
    } finally {
      await haproxy.startProcess();
    }
    // A restarted HAProxy has its configured weights again (all stable); apply sets them.
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(await router.apply({ weight: 5, mirror: 0 })).toEqual({ weight: pairPercent(weightPairFor(5)), mirror: 0 });
    expect(Math.abs((await canaryShare(1_000)) - 5)).toBeLessThanOrEqual(3);
  });

  it('a socket path where nothing was ever created says the socket does not exist', async () => {
    const nowhere = new HaproxyRouter({ socket: `${haproxy.dir}/no-such.sock`, backend: 'checkout', stableServer: 'stable', canaryServer: 'canary' });
    await expect(nowhere.apply({ weight: 5, mirror: 0 })).rejects.toThrow(/UNREACHABLE: .*no-such\.sock: the socket does not exist/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { observeRollouts } from '../helpers/rollout-metrics.js';
import { silentLogger } from '../../src/support/log.js';
import { startHttpServer, type HttpServer, type Readiness } from '../../src/observe/server.js';

describe('controller HTTP endpoints', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready: () => Readiness = () => ({ ok: true }), metrics = new ControllerMetrics({ defaultMetrics: false })) {
    metrics.setLeader(true);
    server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, ready, log: silentLogger() });
    return server;
  }

  it('port 0 reports the port actually bound', async () => {
    const s = await start();
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
  });

  it('/metrics serves the Prometheus text format', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('rollgate_leader 1');
  });

  it('/metrics writes a large exposition piece by piece, whole; HEAD gets no body', async () => {
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    observeRollouts(metrics, 3_000);
    const s = await start(undefined, metrics);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(await metrics.metrics());
    const head = await fetch(`${s.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a scraper that goes away mid-answer does not hold the server up', async () => {
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    observeRollouts(metrics, 5_000);
    const s = await start(undefined, metrics);
    // Read the first bytes of a ~7 MB answer, then stop reading and hang up.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${s.url}/metrics`, (res) => {
        res.once('data', () => {
          res.pause();
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    expect(await (await fetch(`${s.url}/healthz`)).text()).toBe('ok\n');
    await s.close();
    server = undefined;
  });

  it('/healthz answers 200 while the process runs', async () => {
    const s = await start(() => ({ ok: false, reason: 'journal not replayed' }));
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
  });

  it('/readyz follows ready(): 503 with the reason, then 200', async () => {
    let state: Readiness = { ok: false, reason: 'not the leader' };
    const s = await start(() => state);
    const notReady = await fetch(`${s.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('content-type')).toBe('application/json');
    expect(await notReady.json()).toEqual({ ok: false, reason: 'not the leader' });
    state = { ok: true };
    const ready = await fetch(`${s.url}/readyz?verbose=1`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
  });

  it('unknown paths are 404, other methods 405', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('close() frees the port', async () => {
    const s = await start();
    const url = s.url;
    await s.close();
    server = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

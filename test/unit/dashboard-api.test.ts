/**
 * The dashboard's API on a real HTTP server (src/dashboard/routes.ts, live.ts,
 * event-stream.ts) over an in-memory source: the JSON routes, 404s, read-only methods, and
 * the event streams' limits: a maximum of clients (503 beyond), a slow client dropped past its
 * backlog, summaries coalesced per rollout, events of one rollout only, heartbeats, and every
 * stream ended when the server closes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { initialState, type RolloutState } from '../../src/core/state.js';
import { LiveDashboard, type LiveRollout } from '../../src/dashboard/live.js';
import { DashboardRoutes } from '../../src/dashboard/routes.js';
import type { RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
import { startHttpServer, type HttpServer } from '../../src/observe/server.js';
import { silentLogger } from '../../src/support/log.js';
import { demoPlan } from '../helpers/engine.js';
import { record } from '../helpers/records.js';
import { until } from '../helpers/until.js';

const plan = demoPlan(`  metrics: [{ name: errors, query: "sum(vector(0))", max: 0.01 }]
  phases: [{ name: canary, weight: 10, checkpoints: [5m] }, { name: full, weight: 100, checkpoints: [5m] }]
`).plan;

function rollout(id: string, over: Partial<RolloutState> = {}): LiveRollout {
  return { id, plan, state: { ...initialState(id), revision: 'r1', seq: 3, status: 'progressing', phaseName: 'canary', weight: 10, ...over } };
}

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(rollouts: LiveRollout[], streams: { maxClients?: number; maxBacklogBytes?: number; heartbeatMs?: number } = {}) {
  const byId = new Map(rollouts.map((r) => [r.id, r]));
  const records = Array.from({ length: 12 }, (_, i) => record(i + 1));
  const live = new LiveDashboard(
    { rollouts: () => byId.values(), get: (id) => byId.get(id), records: async (_id, limit) => ({ records: records.slice(-limit), omitted: Math.max(0, records.length - limit) }) },
    { log: silentLogger(), now: () => Date.parse('2025-11-01T15:00:00Z'), streams },
  );
  server = await startHttpServer({ host: '127.0.0.1', port: 0, routes: [new DashboardRoutes(live)], log: silentLogger() });
  return { live, url: server.url, byId };
}

/** Reads an event stream with fetch; `events` collects the parsed events, `text` everything. */
async function follow(url: string) {
  const ctl = new AbortController();
  const res = await fetch(url, { signal: ctl.signal });
  const events: Array<{ event: string; data: unknown }> = [];
  const got = { text: '', ended: false };
  const done = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        got.text += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = got.text.indexOf('\n\n')) !== -1) {
          const block = got.text.slice(0, i);
          got.text = got.text.slice(i + 2);
          const ev = /^event: (.+)$/m.exec(block);
          const data = /^data: (.+)$/m.exec(block);
          if (ev && data) events.push({ event: ev[1]!, data: JSON.parse(data[1]!) });
          else events.push({ event: 'comment', data: block });
        }
      }
    } catch {
      /* aborted */
    }
    got.ended = true;
  })();
  return { res, events, got, done, stop: () => ctl.abort() };
}

describe('dashboard API', () => {
  it('/api/rollouts lists every rollout sorted by id', async () => {
    const { url } = await start([rollout('b/shop'), rollout('a/web'), rollout('a/shop')]);
    const res = await fetch(`${url}/api/rollouts`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { rollouts: RolloutSummary[] };
    expect(body.rollouts.map((r) => r.rollout)).toEqual(['a/shop', 'a/web', 'b/shop']);
    expect(body.rollouts[0]).toMatchObject({ status: 'progressing', health: 'healthy', phase: 'canary', phases: 2, weight: 10 });
  });

  it('/api/rollouts/NAME: the live page by namespace/name or unambiguous name; 404 JSON otherwise', async () => {
    const { url } = await start([rollout('a/web'), rollout('a/shop'), rollout('b/shop')]);
    const page = (await (await fetch(`${url}/api/rollouts/web`)).json()) as RolloutPage;
    expect(page).toMatchObject({ source: 'live', recordsOmitted: 0, guard: [], ranges: [], summary: { rollout: 'a/web' } });
    expect(page.records).toHaveLength(12);
    expect(page.phases.map((p) => p.name)).toEqual(['canary', 'full']);
    expect((await fetch(`${url}/api/rollouts/a%2Fshop`)).status).toBe(200);
    expect((await fetch(`${url}/api/rollouts/b/shop`)).status).toBe(200);
    for (const name of ['shop', 'nope', 'a/nope']) {
      const res = await fetch(`${url}/api/rollouts/${name}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toContain(`unknown rollout ${name}`);
    }
  });

  it('pages are HTML; an unknown rollout is a 404 page with its name escaped', async () => {
    const { url } = await start([rollout('a/web')]);
    const overview = await fetch(`${url}/`);
    expect(overview.status).toBe(200);
    expect(overview.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${url}/rollouts/web`)).status).toBe(200);
    const missing = await fetch(`${url}/rollouts/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    expect(missing.status).toBe(404);
    const html = await missing.text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&#60;script&#62;');
  });

  it('is read-only: other methods get 405; other paths 404', async () => {
    const { url } = await start([rollout('a/web')]);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await fetch(`${url}/api/rollouts`, { method })).status).toBe(405);
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(404); // this server has no /metrics
  });
});

describe('dashboard events', () => {
  it('a record event per decision and one summary per rollout for a burst of changes', async () => {
    const { live, url } = await start([rollout('a/web'), rollout('a/shop')]);
    const s = await follow(`${url}/api/events`);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await until(() => s.events.length > 0, 5000, 'the opening comment');
    expect(s.events[0]!.data).toMatch(/^retry: \d+/);
    live.onRecord('a/web', record(4, { rollout: 'a/web' }));
    for (let i = 0; i < 50; i++) live.onApplied('a/web');
    live.onApplied('a/shop');
    await until(() => s.events.filter((e) => e.event === 'summary').length >= 2, 5000, 'the summaries');
    live.onRecord('a/web', record(5, { rollout: 'a/web' }));
    await until(() => s.events.filter((e) => e.event === 'summary').length >= 3, 5000, 'the summary after record 5');
    const names = s.events.filter((e) => e.event !== 'comment');
    expect(names.filter((e) => e.event === 'record').map((e) => (e.data as { record: { seq: number } }).record.seq)).toEqual([4, 5]);
    const summaries = names.filter((e) => e.event === 'summary').map((e) => (e.data as RolloutSummary).rollout);
    expect(summaries.sort()).toEqual(['a/shop', 'a/web', 'a/web']);
    s.stop();
  });

  it('?rollout=NAME gets only that rollout; guard points are kept and sent; removed is sent', async () => {
    const { live, url } = await start([rollout('a/web'), rollout('a/shop')]);
    expect((await fetch(`${url}/api/events?rollout=nope`)).status).toBe(404);
    const s = await follow(`${url}/api/events?rollout=web`);
    await until(() => s.events.length > 0, 5000, 'the opening comment');
    live.onRecord('a/shop', record(4, { rollout: 'a/shop' }));
    live.onGuard('a/web', Date.parse('2025-11-01T15:00:00Z'), 'fail', 1, [{ name: 'errors', query: 'q', value: 0.5, max: 0.01, verdict: 'fail', critical: true }]);
    live.onUnmanaged('a/web');
    await until(() => s.events.some((e) => e.event === 'removed'), 5000, 'the removed event');
    const kinds = s.events.filter((e) => e.event !== 'comment').map((e) => e.event);
    expect(kinds).toEqual(['guard', 'removed']);
    expect(s.events.find((e) => e.event === 'guard')!.data).toMatchObject({ rollout: 'a/web', point: { result: 'fail', strikes: 1, at: '2025-11-01T15:00:00.000Z' } });
    s.stop();
  });

  it('a guard point is on the live page', async () => {
    const { live, url } = await start([rollout('a/web')]);
    live.onGuard('a/web', Date.parse('2025-11-01T15:00:00Z'), 'pass', 0, []);
    const page = (await (await fetch(`${url}/api/rollouts/a/web`)).json()) as RolloutPage;
    expect(page.guard).toEqual([{ at: '2025-11-01T15:00:00.000Z', result: 'pass', strikes: 0, metrics: [] }]);
  });

  it('at most maxClients streams: the next gets 503 with Retry-After; a closed one frees its place', async () => {
    const { url, live } = await start([rollout('a/web')], { maxClients: 2 });
    const a = await follow(`${url}/api/events`);
    const b = await follow(`${url}/api/events`);
    const refused = await fetch(`${url}/api/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    a.stop();
    await until(() => live.streams.size === 1, 5000, 'the closed stream to be let go');
    const c = await follow(`${url}/api/events`);
    expect(c.res.status).toBe(200);
    b.stop();
    c.stop();
  });

  it('heartbeats keep an idle stream alive', async () => {
    const { url } = await start([rollout('a/web')], { heartbeatMs: 50 });
    const s = await follow(`${url}/api/events`);
    await until(() => s.events.filter((e) => e.event === 'comment' && /heartbeat/.test(String(e.data))).length >= 2, 5000, 'two heartbeats');
    s.stop();
  });

  it('a client that does not read is dropped once its backlog passes the limit', async () => {
    const { url, live } = await start([rollout('a/web')], { maxBacklogBytes: 64 * 1024 });
    const { port } = new URL(url);
    const socket: Socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause(); // never reads
    await until(() => live.streams.size === 1, 5000, 'the stream to open');
    const big = record(4, { rollout: 'a/web', reason: 'x'.repeat(16 * 1024) });
    let sent = 0;
    await until(() => {
      for (let i = 0; i < 100; i++) live.onRecord('a/web', big);
      sent += 100;
      return live.streams.size === 0;
    }, 20_000, 'the slow client to be dropped');
    expect(sent).toBeLessThan(20_000);
    socket.destroy();
  });

  it('closing the server ends every stream', async () => {
    const { url } = await start([rollout('a/web')]);
    const s = await follow(`${url}/api/events`);
    await until(() => s.events.length > 0, 5000, 'the opening comment');
    await server!.close();
    server = undefined;
    await until(() => s.got.ended, 5000, 'the stream to end');
  });
});

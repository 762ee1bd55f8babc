/**
 * The dashboard's API on a real HTTP server (src/dashboard/routes.ts, live.ts,
 * event-stream.ts) over an in-memory source: the JSON routes, the pages of /api/rollouts
 * (limit, continue, q, order=health, their bounds and 400s; summaries following state changes and the
 * time), 404s, read-only methods, and
 * the event streams' limits: a maximum of clients (503 beyond), a slow client dropped past its
 * backlog, summaries coalesced per rollout, events of one rollout only, heartbeats, and every
 * stream ended when the server closes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { initialState, type RolloutState } from '../../src/core/state.js';
import { LiveDashboard, type LiveRollout } from '../../src/dashboard/live.js';
import { DashboardRoutes } from '../../src/dashboard/routes.js';
import { continueToken, DEFAULT_PAGE, HEALTH_ORDER, MAX_PAGE } from '../../src/dashboard/rollout-list.js';
import type { Health, RolloutList, RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
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

const T = Date.parse('2025-11-01T15:00:00Z');

async function start(rollouts: LiveRollout[], streams: { maxClients?: number; maxBacklogBytes?: number; heartbeatMs?: number } = {}, now: () => number = () => T) {
  const byId = new Map(rollouts.map((r) => [r.id, r]));
  const records = Array.from({ length: 12 }, (_, i) => record(i + 1));
  const live = new LiveDashboard(
    { rollouts: () => byId.values(), get: (id) => byId.get(id), records: async (_id, limit) => ({ records: records.slice(-limit), omitted: Math.max(0, records.length - limit) }) },
    { log: silentLogger(), now, streams },
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
  it('/api/rollouts lists every rollout sorted by id, with the total and no next page', async () => {
    const { url } = await start([rollout('b/shop'), rollout('a/web'), rollout('a/shop')]);
    const res = await fetch(`${url}/api/rollouts`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as RolloutList;
    expect(body.rollouts.map((r) => r.rollout)).toEqual(['a/shop', 'a/web', 'b/shop']);
    expect(body.total).toBe(3);
    expect(body.continue).toBeNull();
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

/** `count` rollouts ns-(i % 3)/svc-NNNN, every 4th paused, every 10th in phase full. */
function many(count: number): LiveRollout[] {
  return Array.from({ length: count }, (_, i) =>
    rollout(`ns-${i % 3}/svc-${String(i).padStart(4, '0')}`, {
      ...(i % 4 === 0 ? { status: 'paused' as const } : {}),
      ...(i % 10 === 0 ? { phaseName: 'full', phaseIndex: 1, weight: 100 } : {}),
    }),
  );
}
const sortedIds = (rs: LiveRollout[]) => rs.map((r) => r.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const list = async (url: string, query = '') => {
  const res = await fetch(`${url}/api/rollouts${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as RolloutList;
};
/** Every page of the list of `query`, following `continue` (from the token `from`, when given). */
async function allPages(url: string, query: string, from?: string): Promise<RolloutList[]> {
  const page = (token: string | undefined) => list(url, `?${query}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
  const pages = [await page(from)];
  while (pages.at(-1)!.continue) {
    expect(pages.length).toBeLessThan(100);
    pages.push(await page(pages.at(-1)!.continue!));
  }
  return pages;
}

describe('dashboard API: the pages of /api/rollouts', () => {
  it(`first page, next pages via continue, the last with continue null; ${DEFAULT_PAGE} without a limit`, async () => {
    const rs = many(1203);
    const { url } = await start(rs);
    const ids = sortedIds(rs);
    const first = await list(url);
    expect(first.rollouts).toHaveLength(DEFAULT_PAGE);
    expect(first.total).toBe(1203);
    expect(first.continue).toEqual(expect.any(String));
    const pages = await allPages(url, 'limit=400');
    expect(pages.map((p) => p.rollouts.length)).toEqual([400, 400, 400, 3]);
    expect(pages.map((p) => p.total)).toEqual([1203, 1203, 1203, 1203]);
    expect(pages.at(-1)!.continue).toBeNull();
    expect(pages.flatMap((p) => p.rollouts.map((r) => r.rollout))).toEqual(ids);
    // A limit that ends exactly at the last rollout: no next page.
    const exact = await allPages(url, 'limit=401');
    expect(exact.map((p) => p.rollouts.length)).toEqual([401, 401, 401]);
    expect(exact.at(-1)!.continue).toBeNull();
  });

  it(`limit bounds: 1 and ${MAX_PAGE} are taken; a page of ${MAX_PAGE} at most`, async () => {
    const rs = many(1100);
    const { url } = await start(rs);
    const one = await list(url, '?limit=1');
    expect(one.rollouts.map((r) => r.rollout)).toEqual([sortedIds(rs)[0]]);
    const max = await list(url, `?limit=${MAX_PAGE}`);
    expect(max.rollouts).toHaveLength(MAX_PAGE);
    expect(max.total).toBe(1100);
  });

  it('bad limit, continue or q: 400 with a JSON error naming the parameter and what was expected', async () => {
    const { url } = await start(many(5));
    const bad = async (query: string) => {
      const res = await fetch(`${url}/api/rollouts?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return (await res.json()) as { error: string; parameter: string };
    };
    for (const limit of ['0', '-1', '1.5', 'ten', '', String(MAX_PAGE + 1), '1e3', '99999999999']) {
      expect(await bad(`limit=${encodeURIComponent(limit)}`)).toEqual({ parameter: 'limit', error: `limit: expected a whole number from 1 to ${MAX_PAGE}, got ${JSON.stringify(limit)}` });
    }
    for (const token of ['nope!', 'bm90IGpzb24', Buffer.from('{"v":2,"after":"x","q":""}').toString('base64url'), Buffer.from('[1]').toString('base64url')]) {
      expect(await bad(`continue=${encodeURIComponent(token)}`)).toEqual({ parameter: 'continue', error: 'continue: expected the continue token of a previous answer of /api/rollouts' });
    }
    // A token of a filtered list continues that filter only.
    const other = await bad(`q=svc&continue=${continueToken('ns-0/svc-0000', ['paused'])}`);
    expect(other.parameter).toBe('continue');
    expect(other.error).toContain('q="paused"');
    expect(await bad(`q=${'x'.repeat(201)}`)).toEqual({ parameter: 'q', error: 'q: expected at most 200 characters, got 201' });
  });

  it('q filters server-side (every word in name, revision, status, health, phase or wait) and pages the matches', async () => {
    const rs = many(600);
    const { url } = await start(rs);
    const expected = sortedIds(rs.filter((r) => r.state.status === 'paused' && r.state.phaseName === 'full' && r.id.startsWith('ns-1/')));
    expect(expected.length).toBeGreaterThan(5);
    const pages = await allPages(url, `q=${encodeURIComponent('FULL  ns-1/ paused')}&limit=4`);
    expect(pages.flatMap((p) => p.rollouts.map((r) => r.rollout))).toEqual(expected);
    expect(pages.every((p) => p.total === expected.length)).toBe(true);
    expect(pages.at(-1)!.continue).toBeNull();
    // health is matched too: every paused rollout has health paused.
    expect((await list(url, '?q=paused&limit=1')).total).toBe(150);
    expect((await list(url, '?q=no-such-thing')).rollouts).toEqual([]);
    expect((await list(url, '?q=no-such-thing')).total).toBe(0);
  });

  it('a continue token survives rollouts taken on and let go between pages: none served twice, none that stayed skipped', async () => {
    const rs = many(30);
    const { url, live, byId } = await start(rs);
    const first = await list(url, '?limit=10');
    const lastOfFirst = first.rollouts.at(-1)!.rollout;
    // The last id of the first page goes, one before it and one after it arrive.
    byId.delete(lastOfFirst);
    live.onUnmanaged(lastOfFirst);
    for (const id of ['ns-0/a-new', 'ns-2/zz-new']) {
      byId.set(id, rollout(id));
      live.onManaged(id);
    }
    const rest = await allPages(url, 'limit=10', first.continue!);
    const seen = [...first.rollouts, ...rest.flatMap((p) => p.rollouts)].map((r) => r.rollout);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...sortedIds(rs).slice(0, 10), ...sortedIds([...byId.values()]).filter((id) => id > lastOfFirst)]);
    expect(rest[0]!.total).toBe(31);
  });

  it('order=health: failing, warning, paused, healthy, complete, by id within each; pages, q and tokens as in id order', async () => {
    const statuses = ['progressing', 'rolled-back', 'paused', 'complete', 'progressing'] as const;
    const rs = Array.from({ length: 250 }, (_, i) =>
      rollout(`ns-${i % 3}/svc-${String(i).padStart(4, '0')}`, {
        status: statuses[i % 5]!,
        ...(i % 5 === 4 ? { guardStrikes: 1 } : {}), // progressing with strikes: warning
      }),
    );
    const { url, byId } = await start(rs);
    const rank = (r: LiveRollout) => HEALTH_ORDER.indexOf(({ 'rolled-back': 'failing', paused: 'paused', complete: 'complete' } as Record<string, Health>)[r.state.status] ?? (r.state.guardStrikes > 0 ? 'warning' : 'healthy'));
    const expected = [...rs].sort((a, b) => rank(a) - rank(b) || (a.id < b.id ? -1 : 1)).map((r) => r.id);
    const pages = await allPages(url, 'order=health&limit=40');
    expect(pages.map((p) => p.rollouts.length)).toEqual([40, 40, 40, 40, 40, 40, 10]);
    expect(pages.flatMap((p) => p.rollouts.map((r) => r.rollout))).toEqual(expected);
    expect(pages[0]!.rollouts.every((r) => r.health === 'failing')).toBe(true);
    expect(pages.every((p) => p.total === 250)).toBe(true);
    // With a filter: the matches only, in the same order.
    const ns1 = await allPages(url, 'order=health&limit=7&q=ns-1/');
    expect(ns1.flatMap((p) => p.rollouts.map((r) => r.rollout))).toEqual(expected.filter((id) => id.startsWith('ns-1/')));
    // A token of one order does not continue the other.
    const res = await fetch(`${url}/api/rollouts?continue=${encodeURIComponent(pages[0]!.continue!)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('order=health');
    expect((await fetch(`${url}/api/rollouts?order=size`)).status).toBe(400);
    // A rollout that starts failing after the first page was served is on the first page of a new list.
    const late = expected.at(-1)!;
    byId.set(late, { ...byId.get(late)!, state: { ...byId.get(late)!.state, status: 'rolled-back' } });
    expect((await list(url, '?order=health&limit=300')).rollouts.findIndex((r) => r.rollout === late)).toBeLessThan(51);
  });

  it('a summary follows its rollout: a new state or plan is summarized again, health follows the time', async () => {
    let now = T;
    const next = { what: 'checkpoint 1/1 of canary', at: new Date(T + 60_000).toISOString() };
    const rs = [rollout('a/web', { last: record(3, { rollout: 'a/web', next }) })];
    const { url, byId } = await start(rs, {}, () => now);
    expect((await list(url)).rollouts[0]).toMatchObject({ rollout: 'a/web', health: 'healthy', weight: 10 });
    // The engine replaces the state object at each journalled entry.
    byId.set('a/web', { ...byId.get('a/web')!, state: { ...byId.get('a/web')!.state, weight: 50, phaseName: 'half' } });
    expect((await list(url)).rollouts[0]).toMatchObject({ weight: 50, phase: 'half', health: 'healthy' });
    expect((await list(url, '?q=half')).total).toBe(1);
    expect((await list(url, '?q=canary')).total).toBe(0);
    // The next action more than a minute overdue: warning, without any change of state.
    now = T + 60_000 + 61_000;
    expect((await list(url)).rollouts[0]).toMatchObject({ weight: 50, health: 'warning' });
    expect((await list(url, '?q=warning')).total).toBe(1);
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

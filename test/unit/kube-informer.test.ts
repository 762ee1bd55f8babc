import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { PassThrough } from 'node:stream';
import { Informer } from '../../src/kube/informer.js';
import type { RolloutPlanObject } from '../../src/cluster/rolloutplans.js';
import { silentLogger } from '../../src/support/log.js';
import { kubeClient, rolloutPlan, SERVER, statusError } from './kube-fixtures.js';
import { FakeKube } from '../integration/kube-helpers.js';
import { until } from '../helpers/until.js';

const PATH = '/apis/rollgate.dev/v1alpha1/rolloutplans';
const plan = (name: string, rv: string) => rolloutPlan(name, { revision: '1' }, { resourceVersion: rv });
const list = (rv: string, ...items: RolloutPlanObject[]) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlanList', metadata: { resourceVersion: rv }, items });
const ndjson = (...events: Array<{ type: string; object: unknown }>) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

/** Watch requests seen, by resourceVersion; a watch that stays open until the test ends. */
function openWatch(): PassThrough {
  return new PassThrough();
}

describe('RolloutPlan informer (list + watch)', () => {
  let informer: Informer<RolloutPlanObject> | null = null;
  const streams: PassThrough[] = [];
  beforeEach(() => nock.disableNetConnect());
  afterEach(async () => {
    await informer?.stop();
    informer = null;
    for (const s of streams.splice(0)) s.destroy();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  function start(log: string[]) {
    informer = new Informer<RolloutPlanObject>(
      kubeClient(),
      { path: PATH, log: silentLogger(), minBackoffMs: 5, maxBackoffMs: 20 },
      {
        onAdd: (o) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
        onUpdate: (o, old) => log.push(`update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
        onDelete: (o) => log.push(`delete ${o.metadata.name}`),
        onSynced: () => log.push('synced'),
      },
    );
    informer.start();
    return informer;
  }

  it('lists, then watches from the list resourceVersion: ADDED, MODIFIED and DELETED reach the handlers and the cache', async () => {
    const watches: string[] = [];
    const hold = openWatch();
    streams.push(hold);
    nock(SERVER)
      .get(PATH)
      .reply(200, list('10', plan('a', '9')))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), q.watch === '1' && q.resourceVersion === '10' && q.allowWatchBookmarks === 'true'))
      .reply(200, ndjson({ type: 'ADDED', object: plan('b', '11') }, { type: 'MODIFIED', object: plan('a', '12') }, { type: 'DELETED', object: plan('b', '13') }))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), q.resourceVersion === '13'))
      .reply(200, () => hold);
    const log: string[] = [];
    const inf = start(log);
    await until(() => watches.length === 2);
    expect(log).toEqual(['add a@9', 'synced', 'add b@11', 'update a@9->12', 'delete b']);
    expect(inf.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)).toEqual(['a@12']);
    expect(inf.synced).toBe(true);
  });

  it('stopped while its list is under way: stop waits for the list, then no watch is opened (stop does not hang on a stream)', async () => {
    let answerList: () => void = () => undefined;
    const listAsked = new Promise<void>((asked) => {
      nock(SERVER)
        .get(PATH)
        .reply(200, () => {
          asked();
          return new Promise((answer) => (answerList = () => answer(list('10', plan('a', '9')))));
        });
    });
    let watched = 0;
    nock(SERVER)
      .get(PATH)
      .query((q) => q.watch === '1' && ++watched > 0)
      .reply(200, () => openWatch()); // a stream that never ends: stop would hang on it
    const log: string[] = [];
    const inf = start(log);
    await listAsked;
    const stopped = inf.stop();
    answerList();
    await stopped;
    expect(log).toEqual(['add a@9', 'synced']);
    expect(watched).toBe(0);
  });

  it('a dropped watch resumes from the last resourceVersion seen, after a backoff, without listing again', async () => {
    const watches: string[] = [];
    const hold = openWatch();
    streams.push(hold);
    nock(SERVER)
      .get(PATH)
      .reply(200, list('10'))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, ndjson({ type: 'ADDED', object: plan('a', '15') }))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .replyWithError(Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' }))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, ndjson({ type: 'BOOKMARK', object: { kind: 'RolloutPlan', apiVersion: 'rollgate.dev/v1alpha1', metadata: { resourceVersion: '40' } } }))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, () => hold);
    const log: string[] = [];
    const inf = start(log);
    await until(() => watches.length === 4);
    // 10 (the list), 15 (after ADDED), 15 again (the connection broke), 40 (a bookmark).
    expect(watches).toEqual(['10', '15', '15', '40']);
    expect(inf.lists).toBe(1);
    expect(log).toEqual(['synced', 'add a@15']);
  });

  it('an ERROR event with code 410 re-lists; objects gone meanwhile are delivered as deletes', async () => {
    const watches: string[] = [];
    const hold = openWatch();
    streams.push(hold);
    nock(SERVER)
      .get(PATH)
      .reply(200, list('10', plan('a', '9'), plan('b', '9')))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, ndjson({ type: 'ERROR', object: statusError(410, 'Expired', 'too old resource version: 10 (4000)') }))
      .get(PATH)
      .reply(200, list('4000', plan('a', '3999')))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, () => hold);
    const log: string[] = [];
    const inf = start(log);
    await until(() => watches.length === 2);
    expect(watches).toEqual(['10', '4000']);
    expect(inf.lists).toBe(2);
    expect(log).toEqual(['add a@9', 'add b@9', 'synced', 'update a@9->3999', 'delete b', 'synced']);
  });

  it('an HTTP 410 Gone on the watch request re-lists too', async () => {
    const watches: string[] = [];
    const hold = openWatch();
    streams.push(hold);
    nock(SERVER)
      .get(PATH)
      .reply(200, list('10'))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(410, statusError(410, 'Gone', 'too old resource version: 10 (4000)'))
      .get(PATH)
      .reply(200, list('4001', plan('c', '4001')))
      .get(PATH)
      .query((q) => (watches.push(String(q.resourceVersion)), true))
      .reply(200, () => hold);
    const log: string[] = [];
    const inf = start(log);
    await until(() => watches.length === 2);
    expect(watches).toEqual(['10', '4001']);
    expect(inf.lists).toBe(2);
    expect(log).toEqual(['synced', 'add c@4001', 'synced']);
  });

  describe('a watch that goes silent', () => {
    const PLANS = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans';
    let api: FakeKube;
    beforeEach(() => {
      api = new FakeKube();
    });
    afterEach(async () => {
      await informer?.stop();
      informer = null;
      api.close();
    });

    function watchSilently(silenceMs: number): Informer<RolloutPlanObject> {
      informer = new Informer<RolloutPlanObject>(kubeClient(), { path: PLANS, log: silentLogger(), minBackoffMs: 5, maxBackoffMs: 20, silenceMs }, {});
      informer.start();
      return informer;
    }
    const watchRequests = () => api.requests.filter((r) => r.method === 'GET' && r.path === PLANS).length;

    it('is detected after silenceMs without an event or a bookmark: listed again, the missed change delivered, a new watch opened', async () => {
      api.create(`${PLANS}/a`, rolloutPlan('a', { revision: '1' }));
      const i = watchSilently(300);
      await until(() => i.synced && api.openWatches() === 1);
      api.silenceWatches = true; // the open watch stays open and says nothing more
      api.create(`${PLANS}/b`, rolloutPlan('b', { revision: '1' }));
      await until(() => i.get('learning/b') !== undefined, 5000);
      expect(i.silentWatches).toBeGreaterThanOrEqual(1);
      expect(i.lists).toBeGreaterThanOrEqual(2);

      api.silenceWatches = false;
      const before = watchRequests();
      await until(() => watchRequests() > before && api.openWatches() >= 1, 5000); // watching again
      api.create(`${PLANS}/c`, rolloutPlan('c', { revision: '1' }));
      await until(() => i.get('learning/c') !== undefined, 5000);
    });

    it('a quiet watch that receives bookmarks is kept', async () => {
      api.create(`${PLANS}/a`, rolloutPlan('a', { revision: '1' }));
      const i = watchSilently(1500);
      await until(() => i.synced && api.openWatches() === 1);
      let sent = 0;
      const ticker = setInterval(() => {
        api.bookmark(PLANS);
        sent++;
      }, 100);
      try {
        await until(() => sent >= 40, 10_000); // 4 s of bookmarks: over twice the silence deadline
      } finally {
        clearInterval(ticker);
      }
      expect(i.silentWatches).toBe(0);
      expect(i.lists).toBe(1);
    });
  });
});

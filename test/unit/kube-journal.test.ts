import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { ConfigMapJournal, JOURNAL_KEY, COMPACTED_KEY } from '../../src/kube/kube-journal.js';
import { compactJournal } from '../../src/kube/journal-compaction.js';
import { JournalContractError, JournalCorruptError } from '../../src/journal/journal.js';
import { replay } from '../../src/controller/state.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { kubeClient, mark, record, ROLLOUT, SERVER, statusError } from './kube-fixtures.js';

const CM_PATH = '/api/v1/namespaces/learning/configmaps/rollgate-journal-analyzer';
const lines = (...entries: JournalEntry[]) => entries.map((e) => `${JSON.stringify(e)}\n`).join('');

function configMap(rv: string, text: string, extra: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'rollgate-journal-analyzer',
      namespace: 'learning',
      resourceVersion: rv,
      uid: 'cm-uid',
      labels: { 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' },
    },
    data: { [JOURNAL_KEY]: text, ...extra },
  };
}

describe('ConfigMap journal', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('the first append creates the labelled ConfigMap; the next ones PUT with the resourceVersion last stored', async () => {
    const posted: unknown[] = [];
    const put: Array<{ body: any; type: string }> = [];
    nock(SERVER)
      .get(CM_PATH)
      .reply(404, statusError(404, 'NotFound', 'configmaps "rollgate-journal-analyzer" not found'))
      .post('/api/v1/namespaces/learning/configmaps', (b) => (posted.push(b), true))
      .reply(201, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '11' } }))
      .put(CM_PATH, (b) => (put.push({ body: b, type: '' }), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '12' } }))
      .get(CM_PATH)
      .reply(200, configMap('12', lines(record(1), mark(1))));
    const j = new ConfigMapJournal({ client: kubeClient() });
    await j.append(ROLLOUT, record(1));
    await j.append(ROLLOUT, mark(1));
    expect(posted[0]).toMatchObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'rollgate-journal-analyzer', namespace: 'learning', labels: { 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' } },
      data: { [JOURNAL_KEY]: lines(record(1)) },
    });
    expect(put[0]!.body.metadata.resourceVersion).toBe('11');
    expect(put[0]!.body.data[JOURNAL_KEY]).toBe(lines(record(1), mark(1)));
    expect(await j.read(ROLLOUT)).toEqual([record(1), mark(1)]);
    expect(nock.isDone()).toBe(true);
  });

  it('a 409 Conflict re-reads the ConfigMap and appends on top of what another writer stored', async () => {
    const bodies: any[] = [];
    nock(SERVER)
      .get(CM_PATH)
      .reply(200, configMap('20', lines(record(1))))
      .put(CM_PATH, (b) => (bodies.push(b), true))
      .reply(409, statusError(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "rollgate-journal-analyzer": the object has been modified; please apply your changes to the latest version and try again'))
      .get(CM_PATH)
      .reply(200, configMap('21', lines(record(1), mark(1))))
      .put(CM_PATH, (b) => (bodies.push(b), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '22' } }));
    const j = new ConfigMapJournal({ client: kubeClient() });
    await j.read(ROLLOUT);
    await j.append(ROLLOUT, record(2));
    expect(bodies.map((b) => b.metadata.resourceVersion)).toEqual(['20', '21']);
    expect(bodies[1].data[JOURNAL_KEY]).toBe(lines(record(1), mark(1), record(2)));
    expect(j.conflicts).toBe(1);
    expect(nock.isDone()).toBe(true);
  });

  it('after a conflict, a seq another writer already took is refused and nothing is written', async () => {
    nock(SERVER)
      .get(CM_PATH)
      .reply(200, configMap('20', lines(record(1))))
      .put(CM_PATH)
      .reply(409, statusError(409, 'Conflict', 'the object has been modified'))
      .get(CM_PATH)
      .reply(200, configMap('21', lines(record(1), record(2))));
    const j = new ConfigMapJournal({ client: kubeClient() });
    const err = await j.append(ROLLOUT, record(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalContractError);
    expect((err as Error).message).toMatch(/configmap learning\/rollgate-journal-analyzer: duplicate or out-of-order seq 2 after seq 2.*another writer/);
    expect(nock.isDone()).toBe(true);
  });

  it('an API error fails the append (the engine keeps the split), unless reading back shows the entry stored', async () => {
    nock(SERVER)
      .get(CM_PATH)
      .reply(200, configMap('20', lines(record(1))))
      .put(CM_PATH)
      .reply(500, statusError(500, 'InternalError', 'etcdserver: request timed out'))
      .get(CM_PATH)
      .reply(200, configMap('20', lines(record(1))));
    const j = new ConfigMapJournal({ client: kubeClient() });
    await expect(j.append(ROLLOUT, record(2))).rejects.toThrow(/configmap learning\/rollgate-journal-analyzer: cannot append seq 2 \(continue\): PUT .*500 InternalError: etcdserver: request timed out/);

    // The read-back above refreshed the cache: the retry PUTs at once.
    nock(SERVER)
      .put(CM_PATH)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .get(CM_PATH)
      .reply(200, configMap('21', lines(record(1), record(2))));
    await j.append(ROLLOUT, record(2)); // stored although the connection broke: success
    expect(j.recent(ROLLOUT, 10).map((r) => r.seq)).toEqual([1, 2]);
    expect(nock.isDone()).toBe(true);
  });

  it('a corrupt line is an error naming the ConfigMap, key and line', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap('5', `${lines(record(1))}{"seq":"x"}\n`));
    const j = new ConfigMapJournal({ client: kubeClient() });
    const err = await j.read(ROLLOUT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalCorruptError);
    expect((err as Error).message).toMatch(/^configmap learning\/rollgate-journal-analyzer journal\.jsonl:2: corrupt journal line/);
  });

  it('past maxBytes the journal is compacted at a revision start: same replayed state, gapless seqs, counts kept', async () => {
    // Three revisions of three records each, every split applied.
    const entries: JournalEntry[] = [];
    let seq = 0;
    for (const rev of ['1', '2', '3']) {
      const base = { revision: rev, reason: 'x'.repeat(300) };
      entries.push(record(++seq, { ...base, kind: 'lifecycle', decision: 'start', weight: { from: seq === 1 ? 0 : 100, to: 10 } }), mark(seq, 10));
      entries.push(record(++seq, { ...base, decision: 'continue', weight: { from: 10, to: 10 } }));
      entries.push(record(++seq, { ...base, decision: 'complete', weight: { from: 10, to: 100 } }), mark(seq, 100));
    }
    const stored = new Map<string, any>();
    let rv = 1;
    nock(SERVER)
      .persist()
      .get(CM_PATH)
      .reply(() => (stored.has('cm') ? [200, stored.get('cm')] : [404, statusError(404, 'NotFound', 'not found')]))
      .post('/api/v1/namespaces/learning/configmaps')
      .reply(201, (_u, b: any) => (stored.set('cm', { ...b, metadata: { ...b.metadata, resourceVersion: String(++rv) } }), stored.get('cm')))
      .put(CM_PATH)
      .reply(200, (_u, b: any) => (stored.set('cm', { ...b, metadata: { ...b.metadata, resourceVersion: String(++rv) } }), stored.get('cm')));
    const j = new ConfigMapJournal({ client: kubeClient(), maxBytes: 3000, compactTo: 0.7 });
    for (const e of entries) await j.append(ROLLOUT, e);
    const cm = stored.get('cm');
    expect(Buffer.byteLength(cm.data[JOURNAL_KEY])).toBeLessThanOrEqual(3000);
    const summary = JSON.parse(cm.data[COMPACTED_KEY]);
    expect(summary.throughSeq).toBeGreaterThan(0);
    expect(summary.counts.start).toBeGreaterThanOrEqual(1);

    const fresh = new ConfigMapJournal({ client: kubeClient() });
    const kept = await fresh.read(ROLLOUT);
    expect(kept[0]).toMatchObject({ seq: summary.throughSeq + 1, decision: 'start' });
    expect(replay(ROLLOUT, kept)).toEqual(replay(ROLLOUT, entries));
    expect(fresh.counts(ROLLOUT)).toEqual({ start: 3, continue: 3, complete: 3 });
    nock.cleanAll();
  });

  it('compaction refuses a cut that would change the replayed state (mid-phase continues count)', () => {
    const entries: JournalEntry[] = [record(1), mark(1), record(2), record(3), record(4)];
    const ls = entries.map((e) => JSON.stringify(e));
    // Only the start is a safe cut point, and cutting before it drops nothing useful.
    expect(compactJournal(ROLLOUT, entries, ls, null, 10, '2025-11-03T12:00:00Z')).toBeNull();
  });
});

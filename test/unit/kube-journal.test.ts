import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { ConfigMapJournal, JOURNAL_KEY, COMPACTED_KEY } from '../../src/cluster/kube-journal.js';
import { compactJournal } from '../../src/cluster/journal-compaction.js';
import { boundEntry, MAX_STORED_LINE_BYTES } from '../../src/cluster/journal-bounds.js';
import { JournalContractError, JournalCorruptError } from '../../src/core/journal.js';
import { replay } from '../../src/core/state.js';
import type { JournalEntry } from '../../src/core/record.js';
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

  it('where the API server refuses the ownerReference (OwnerReferencesPermissionEnforcement), the journal is written without one, with the plan uid', async () => {
    const posted: any[] = [];
    const put: any[] = [];
    nock(SERVER)
      .get(CM_PATH)
      .reply(404, statusError(404, 'NotFound', 'configmaps "rollgate-journal-analyzer" not found'))
      .post('/api/v1/namespaces/learning/configmaps', (b) => (posted.push(b), true))
      .reply(403, statusError(403, 'Forbidden', `configmaps "rollgate-journal-analyzer" is forbidden: cannot set an ownerRef on a resource you can't delete: , <nil>`))
      .get(CM_PATH)
      .reply(404, statusError(404, 'NotFound', 'configmaps "rollgate-journal-analyzer" not found'))
      .post('/api/v1/namespaces/learning/configmaps', (b) => (posted.push(b), true))
      .reply(201, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '11' } }))
      .put(CM_PATH, (b) => (put.push(b), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '12' } }));
    const j = new ConfigMapJournal({ client: kubeClient() });
    j.own(ROLLOUT, { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', uid: 'uid-analyzer' });
    await j.append(ROLLOUT, record(1));
    await j.append(ROLLOUT, mark(1));
    expect(posted[0].metadata.ownerReferences).toEqual([{ apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', uid: 'uid-analyzer', controller: true, blockOwnerDeletion: false }]);
    expect(posted[1].metadata.ownerReferences).toBeUndefined();
    expect(posted[1].metadata.annotations).toEqual({ 'rollgate.dev/plan-uid': 'uid-analyzer' });
    expect(put[0].metadata.ownerReferences).toBeUndefined();
    expect(nock.isDone()).toBe(true);
  });

  it('a ConfigMap compacted by an earlier version (its base in compacted.json) replays from that base; the next write turns it into the snapshot line', async () => {
    const all: JournalEntry[] = [record(1, { kind: 'lifecycle', decision: 'start', enters: { phase: 'canary', index: 0 } }), mark(1), record(2), record(3), record(4)];
    const base = JSON.parse(JSON.stringify(replay(ROLLOUT, all.slice(0, 3)))); // through seq 2
    const old = { throughSeq: 2, records: 2, marks: 1, bytes: 900, from: all[0]!.at, to: (all[2] as { at: string }).at, counts: { start: 1, continue: 1 }, compactions: 1, at: '2025-11-03T11:00:00Z', base };
    const written: any[] = [];
    nock(SERVER)
      .get(CM_PATH)
      .reply(200, configMap('7', lines(...all.slice(3)), { [COMPACTED_KEY]: JSON.stringify(old) }))
      .put(CM_PATH, (b) => (written.push(b), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '8' } }))
      .get(CM_PATH)
      .reply(() => [200, { ...written[0], metadata: { ...written[0].metadata, resourceVersion: '8' } }]);
    const j = new ConfigMapJournal({ client: kubeClient() });
    expect(await j.replay(ROLLOUT)).toEqual(replay(ROLLOUT, all));
    await j.append(ROLLOUT, record(5));
    const [first, ...rest] = written[0].data[JOURNAL_KEY].trimEnd().split('\n');
    expect(JSON.parse(first)).toEqual({ snapshot: 2, rollout: ROLLOUT, at: '2025-11-03T11:00:00Z', state: base });
    expect(rest.map((l: string) => JSON.parse(l).seq)).toEqual([3, 4, 5]);
    expect(JSON.parse(written[0].data[COMPACTED_KEY])).toEqual({ ...old, base: undefined });
    expect(JSON.parse(written[0].data[COMPACTED_KEY])).not.toHaveProperty('base');
    // Read back by a fresh journal: the same state, from the snapshot line.
    expect(await new ConfigMapJournal({ client: kubeClient() }).replay(ROLLOUT)).toEqual(replay(ROLLOUT, [...all, record(5)]));
    expect(nock.isDone()).toBe(true);
  });

  it('the snapshot line of a compaction must check: it stands for entries that are gone', async () => {
    const state = JSON.parse(JSON.stringify(replay(ROLLOUT, [record(1), mark(1), record(2)])));
    const summary = { throughSeq: 2, records: 2, marks: 1, bytes: 900, from: null, to: null, counts: {}, compactions: 1, at: '2025-11-03T11:00:00Z' };
    const text = `${JSON.stringify({ snapshot: 3, rollout: ROLLOUT, at: summary.at, state: { ...state, seq: 3 } })}\n${lines(record(3))}`;
    nock(SERVER).get(CM_PATH).reply(200, configMap('5', text, { [COMPACTED_KEY]: JSON.stringify(summary) }));
    const err = await new ConfigMapJournal({ client: kubeClient() }).replay(ROLLOUT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalCorruptError);
    expect((err as Error).message).toMatch(/journal\.jsonl:1: corrupt journal line: snapshot 3, but compacted through seq 2/);
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

  it('compaction finds no cut only when the last entry alone is over the target', () => {
    const entries: JournalEntry[] = [record(1), mark(1), record(2), record(3), record(4)];
    const ls = entries.map((e) => JSON.stringify(e));
    expect(compactJournal(ROLLOUT, entries, ls, null, null, 10, '2025-11-03T12:00:00Z')).toBeNull();
  });

  it('a cut inside a phase keeps the state at the cut as the base replay starts from', () => {
    const entries: JournalEntry[] = [record(1), mark(1), record(2), record(3), record(4)];
    const ls = entries.map((e) => JSON.stringify(e));
    const res = compactJournal(ROLLOUT, entries, ls, null, null, Buffer.byteLength(ls[4]!) + 1, '2025-11-03T12:00:00Z')!;
    expect(res.cut).toBe(4);
    expect(res.summary).toMatchObject({ throughSeq: 3, records: 3, marks: 1, counts: { start: 1, continue: 2 } });
    expect(res.base).toMatchObject({ seq: 3, checkpointIndex: 2 });
    expect(res.summary).not.toHaveProperty('base');
    expect(replay(ROLLOUT, entries.slice(4), res.base)).toEqual(replay(ROLLOUT, entries));
  });

  it('at the 1 MiB limit: one phase of thousands of checkpoints with many long queries; every append succeeds, the ConfigMap stays under 1 MiB, replay equals the uncompacted replay', async () => {
    const LIMIT = 1024 * 1024; // kube-apiserver refuses a ConfigMap whose data is larger
    const stored = new Map<string, any>();
    let rv = 1;
    let largest = 0;
    const store = (b: any) => {
      const size = Object.entries(b.data ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v as string), 0);
      if (size > LIMIT) return [422, statusError(422, 'Invalid', `ConfigMap "rollgate-journal-analyzer" is invalid: []: Too long: must have at most ${LIMIT} bytes`)];
      largest = Math.max(largest, Buffer.byteLength(JSON.stringify(b)));
      stored.set('cm', { ...b, metadata: { ...b.metadata, resourceVersion: String(++rv) } });
      return [200, stored.get('cm')];
    };
    nock(SERVER)
      .persist()
      .get(CM_PATH)
      .reply(() => (stored.has('cm') ? [200, stored.get('cm')] : [404, statusError(404, 'NotFound', 'not found')]))
      .post('/api/v1/namespaces/learning/configmaps')
      .reply((_u, b: any) => store(b) as any)
      .put(CM_PATH)
      .reply((_u, b: any) => store(b) as any);

    // 40 metrics, each with a 3,000-character query: a record of ~140 KB before bounding.
    const metrics = Array.from({ length: 40 }, (_, i) => ({
      name: `metric-${i}`,
      query: `sum(rate(http_requests_total{job="checkout",code=~"5..",route="/${'x'.repeat(2900)}"}[5m])) / ${i}`,
      value: null,
      max: 0.01,
      verdict: 'nodata' as const,
      critical: true,
      reason: `no data: ${'y'.repeat(800)}`,
    }));
    const of = 5000;
    const entries: JournalEntry[] = [record(1, { kind: 'lifecycle', decision: 'start', enters: { phase: 'canary', index: 0 } }), mark(1)];
    let seq = 1;
    let index = 0;
    while (seq < 120) {
      seq++;
      const at = new Date(Date.UTC(2025, 10, 3, 10, 0, 0) + seq * 60_000).toISOString();
      const hold = seq % 3 === 0;
      if (seq === 80) entries.push(record(seq, { kind: 'manual', decision: 'pause', actor: 'alice', at, reason: 'paused by hand' }));
      else if (seq === 81) entries.push(record(seq, { kind: 'manual', decision: 'resume', actor: 'alice', at, reason: 'resumed by hand', next: { what: 'checkpoint', at } }));
      else
        entries.push(
          record(seq, {
            decision: hold ? 'hold' : 'continue',
            at,
            checkpoint: { index: hold ? index : index++, of, due: at, window: '5m', ...(hold ? { attempt: 1 } : {}) },
            metrics,
            reason: `checkpoint ${index}/${of}: ${'z'.repeat(5000)}`,
            weight: { from: 10, to: 10 },
            ...(hold ? { next: { what: `checkpoint ${index + 1}/${of} again`, at } } : {}),
          }),
        );
    }
    const history = entries.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
    expect(history).toBeGreaterThan(8 * LIMIT); // well past 1 MiB of history (stored, once bounded: over 1.5 MiB)
    expect(entries.map(boundEntry).reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0)).toBeGreaterThan(1.5 * LIMIT);

    const j = new ConfigMapJournal({ client: kubeClient() });
    for (const e of entries) await j.append(ROLLOUT, e); // every append succeeds
    expect(j.compactions).toBeGreaterThanOrEqual(2);
    expect(largest).toBeLessThan(LIMIT);

    const fresh = new ConfigMapJournal({ client: kubeClient() });
    const replayed = await fresh.replay(ROLLOUT);
    const kept = await fresh.read(ROLLOUT);
    expect(kept.length).toBeLessThan(entries.length);
    expect(stored.get('cm').data[JOURNAL_KEY]).toMatch(/^\{"snapshot":/); // the base, as a state snapshot line
    const storedAll = entries.map(boundEntry); // what the journal stores of each entry
    expect(replayed).toEqual(replay(ROLLOUT, storedAll));
    expect(replayed).toMatchObject({ seq: 120, status: 'progressing', checkpointIndex: index });
    // Only the text of the last record was shortened: the state is otherwise the full one.
    const { last: _a, ...bounded } = replayed;
    const { last: _b, ...full } = replay(ROLLOUT, entries);
    expect(bounded).toEqual(full);
    const expected: Record<string, number> = {};
    for (const e of entries) if ('decision' in e) expected[e.decision] = (expected[e.decision] ?? 0) + 1;
    expect(fresh.counts(ROLLOUT)).toEqual(expected);
    nock.cleanAll();
  }, 180_000);

  it('thousands of checkpoints and holds in one phase: compacted again and again inside the phase, replay equals the uncompacted replay', async () => {
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
    const of = 3000;
    const entries: JournalEntry[] = [record(1, { kind: 'lifecycle', decision: 'start', enters: { phase: 'canary', index: 0 } }), mark(1)];
    let index = 0;
    for (let seq = 2; seq <= 2000; seq++) {
      const at = new Date(Date.UTC(2025, 10, 3, 10, 0, 0) + seq * 1000).toISOString();
      const hold = seq % 4 === 0;
      const metrics = [{ name: 'error-rate', query: 'sum(rate(errors[1m]))', value: hold ? null : 0.001, max: 0.01, verdict: hold ? ('nodata' as const) : ('pass' as const), critical: true }];
      entries.push(record(seq, { decision: hold ? 'hold' : 'continue', at, metrics, checkpoint: { index: hold ? index : index++, of, due: at, window: '1m', ...(hold ? { attempt: 1 } : {}) }, ...(hold ? { next: { what: 'again', at } } : {}) }));
    }
    const j = new ConfigMapJournal({ client: kubeClient(), maxBytes: 48 * 1024 });
    for (const e of entries) await j.append(ROLLOUT, e);
    expect(j.compactions).toBeGreaterThan(10);
    expect(Buffer.byteLength(stored.get('cm').data[JOURNAL_KEY])).toBeLessThanOrEqual(48 * 1024);
    const fresh = new ConfigMapJournal({ client: kubeClient() });
    const replayed = await fresh.replay(ROLLOUT);
    expect(replayed).toEqual(replay(ROLLOUT, entries));
    expect(replayed).toMatchObject({ seq: 2000, checkpointIndex: index, phaseStartSeq: 1 });
    nock.cleanAll();
  }, 180_000);

  it('a stored record is bounded: long text cut with a marker, metrics left out past the line limit and counted', () => {
    const long = record(2, {
      reason: 'r'.repeat(10_000),
      metrics: Array.from({ length: 60 }, (_, i) => ({ name: `m${i}`, query: 'q'.repeat(5000), value: 1, verdict: 'pass' as const, critical: false })),
    });
    const b = boundEntry(long) as any;
    expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(MAX_STORED_LINE_BYTES);
    expect(b.reason).toMatch(/^r{2048}… \[7952 more characters not stored\]$/);
    expect(b.metrics[0].query).toMatch(/… \[3976 more characters not stored\]$/);
    expect(b.metricsOmitted).toBe(60 - b.metrics.length);
    expect({ ...b, reason: long.reason, metrics: long.metrics, metricsOmitted: undefined }).toEqual({ ...long, metricsOmitted: undefined });
    const small = record(3);
    expect(boundEntry(small)).toBe(small);
  });
});

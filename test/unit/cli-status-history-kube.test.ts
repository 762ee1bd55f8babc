/**
 * Cluster mode of `rollgate status` and `rollgate history`: RolloutPlan lists and journal
 * ConfigMaps served by nock exactly as the Kubernetes API shapes them (lists with metadata,
 * `Status` errors); the command functions are called in-process with stdout/stderr captured.
 * Only GETs are ever sent (any other request has no interceptor and would fail the test).
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import nock from 'nock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusCommand, statusSummary, planStatusSummary } from '../../src/cli/status.js';
import { historyCommand } from '../../src/cli/history.js';
import { buildProgram } from '../../src/cli/index.js';
import { CliError } from '../../src/cli/options.js';
import { JOURNAL_KEY, COMPACTED_KEY } from '../../src/cluster/kube-journal.js';
import { replay } from '../../src/core/state.js';
import { formatDecisionText } from '../../src/observe/decision-log.js';
import type { DecisionRecord, JournalEntry } from '../../src/core/record.js';
import type { RolloutPlanObject, RolloutPlanStatus } from '../../src/cluster/rolloutplans.js';
import { fileSpec, kubeClient, mark, progressingStatus, record, ROLLOUT, rolloutPlan, SERVER, statusError } from './kube-fixtures.js';

const LIST_PATH = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans';
const ALL_PATH = '/apis/rollgate.dev/v1alpha1/rolloutplans';
const CM_PATH = '/api/v1/namespaces/learning/configmaps/rollgate-journal-analyzer';
const lines = (...entries: JournalEntry[]) => entries.map((e) => `${JSON.stringify(e)}\n`).join('');

const baseFlags = { stateDir: '/nonexistent/state-dir', output: 'text', interval: '0.2', namespace: 'learning' };

/** The journal of analyzer: start, checkpoint 1/2 passed, with applied marks and a next checkpoint. */
const NEXT = { what: 'checkpoint 2/2 of canary', at: '2025-11-03T11:00:00.000Z' };
/** The CLI's clock in these tests: before NEXT is due, so nothing is overdue. */
const NOW = () => Date.parse('2025-11-03T10:30:00.000Z');
const r1 = record(1, { enters: { phase: 'canary', index: 0 } });
const r2 = record(2, { checkpoint: { index: 1, of: 2, due: '2025-11-03T10:30:00Z', window: '30m' }, next: NEXT });

/** The guard as the controller writes it: one failing evaluation so far, of the 2 that roll back. */
const GUARD = { strikes: 1, consecutive: 2, interval: '30s' };

/** The status the controller writes for analyzer (src/cluster/status.ts buildStatus). */
const analyzerStatus = (): RolloutPlanStatus => progressingStatus([r1, r2], NEXT.at);

function plans(): RolloutPlanObject[] {
  const analyzer = { ...rolloutPlan('analyzer', fileSpec('/tmp/x')), status: { ...analyzerStatus(), guard: GUARD } };
  const wait = record(2, { rollout: 'learning/search', kind: 'checkpoint', decision: 'wait', waitingFor: 'approval', reason: 'phase full needs approval', enters: { phase: 'full', index: 1 } });
  const search = {
    ...rolloutPlan('search', fileSpec('/tmp/y', { revision: '2.0.0' })),
    status: { ...analyzerStatus(), revision: '2.0.0', status: 'waiting', phase: 'full', records: [{ ...r1, rollout: 'learning/search' }, wait], lastDecision: 'wait', nextAt: null },
  };
  const fresh = rolloutPlan('fresh', fileSpec('/tmp/z', { revision: '3.0.0' }));
  return [search, fresh, analyzer];
}

function list(items: RolloutPlanObject[], cont?: string) {
  return { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlanList', metadata: { resourceVersion: '321', ...(cont ? { continue: cont } : {}) }, items };
}

function configMap(text: string, extra: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'rollgate-journal-analyzer',
      namespace: 'learning',
      uid: 'cm-uid',
      resourceVersion: '77',
      creationTimestamp: '2025-11-03T10:00:00Z',
      labels: { 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' },
    },
    data: { [JOURNAL_KEY]: text, ...extra },
  };
}

let out: string;
let err: string;
const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string }) => unmatched.push(`${req.method} ${req.path}`);

beforeEach(() => {
  out = '';
  err = '';
  unmatched.length = 0;
  nock.disableNetConnect();
  nock.emitter.on('no match', onNoMatch);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  nock.emitter.removeListener('no match', onNoMatch);
  nock.cleanAll();
  nock.enableNetConnect();
  expect(unmatched).toEqual([]);
});

/** Runs a command; returns its exit status, or the CliError's (as main.ts would). */
async function exitOf(p: Promise<number>): Promise<{ code: number; message: string }> {
  try {
    return { code: await p, message: '' };
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return { code: (e as CliError).exitCode, message: (e as Error).message };
  }
}

describe('rollgate status -n NS', () => {
  it('prints the standalone table from the RolloutPlans status, sorted; an empty status is "not yet seen by a controller"', async () => {
    nock(SERVER).get(LIST_PATH).query({ limit: '500' }).reply(200, list(plans()));
    expect(await statusCommand(undefined, baseFlags, { client: kubeClient(), now: NOW })).toBe(0);
    const rows = out.trimEnd().split('\n');
    // The NEXT column is relative to the CLI's clock (NOW: 30m before NEXT), LAST DECISION too;
    // the absolute time, in the plan's time zone next to UTC, is in the detail block.
    expect(rows.slice(0, 4)).toHaveLength(4);
    expect(rows[0]).toMatch(/^ROLLOUT\s+REVISION\s+STATUS\s+PHASE\s+SPLIT\s+NEXT\s+LAST DECISION$/);
    expect(rows[1]).toMatch(/^learning\/analyzer\s+1\.0\.0\s+progressing\s+canary\s+10%\s+checkpoint 2\/2 of canary in 30m\s+#2 continue 29m58s ago: record 2$/);
    expect(rows[2]).toMatch(/^learning\/fresh\s+3\.0\.0\s+not yet seen by a controller\s+-\s+-\s+-\s+-$/);
    expect(rows[3]).toMatch(/^learning\/search\s+2\.0\.0\s+waiting\s+full\s+10%\s+waiting for approval: rollgate promote search\s+#2 wait 29m58s ago: phase full needs approval$/);
    expect(rows.slice(4)).toEqual([
      '',
      'learning/analyzer',
      '  leader     unknown: the status does not name the Lease of its writer (an older controller wrote it)',
      '  next       checkpoint 2/2 of canary in 30m, at 2025-11-03T11:00Z',
      '  guard      1 of 2 strikes (a rollback at 2 failing evaluations in a row, every 30s)',
      '',
      'learning/search',
      '  leader     unknown: the status does not name the Lease of its writer (an older controller wrote it)',
      '  waiting    for approval: rollgate promote search (phase full needs approval)',
    ]);
    expect(nock.isDone()).toBe(true);
  });

  it('--output json: one object per RolloutPlan with the standalone fields (the same as a replay of the journal, but applied)', async () => {
    nock(SERVER).get(LIST_PATH).query({ limit: '500' }).reply(200, list(plans()));
    expect(await statusCommand(undefined, { ...baseFlags, output: 'json' }, { client: kubeClient(), now: NOW })).toBe(0);
    const objs = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs.map((o) => o.rollout)).toEqual(['learning/analyzer', 'learning/fresh', 'learning/search']);
    const standalone = statusSummary({ id: ROLLOUT, state: replay(ROLLOUT, [r1, mark(1), r2]) }, { now: NOW(), marginMs: 60_000 });
    // Cluster mode adds `leader`; it has no applied split; the guard is the status's.
    expect(Object.keys(objs[0]!)).toEqual([...Object.keys(standalone), 'leader']);
    expect(objs[0]).toEqual({ ...standalone, applied: null, guard: GUARD, leader: objs[0]!.leader });
    expect(objs[2]!.guard).toBeNull(); // a status without guard (an older controller's): unknown
    expect(objs[0]!.leader).toMatchObject({ state: 'unknown', lease: null });
    expect(objs[1]).toMatchObject({ rollout: 'learning/fresh', revision: '3.0.0', status: null, lastDecision: null, note: 'not yet seen by a controller' });
    expect(objs[2]).toMatchObject({ status: 'waiting', phase: 'full', waitingFor: 'approval', next: 'approval (rollgate promote)', lastDecision: { seq: 2, decision: 'wait', kind: 'checkpoint' } });
  });

  it('NAME reads one RolloutPlan; NS/NAME too; -A lists every namespace, following continue', async () => {
    const [, , analyzer] = plans();
    nock(SERVER)
      .get(`${LIST_PATH}/analyzer`)
      .twice()
      .reply(200, analyzer)
      .get(ALL_PATH)
      .query({ limit: '500' })
      .reply(200, list([plans()[0]!], 'token-1'))
      .get(ALL_PATH)
      .query({ limit: '500', continue: 'token-1' })
      .reply(200, list([{ ...analyzer, metadata: { ...analyzer!.metadata, namespace: 'apps' } }]));
    const client = kubeClient();
    await statusCommand('analyzer', { ...baseFlags, output: 'json' }, { client, now: NOW });
    await statusCommand('learning/analyzer', { ...baseFlags, namespace: undefined, output: 'json' } as never, { client, now: NOW });
    const [a, b] = out.trimEnd().split('\n');
    expect(a).toBe(b);
    expect(JSON.parse(a!)).toMatchObject({ rollout: 'learning/analyzer', status: 'progressing' });
    out = '';
    await statusCommand(undefined, { ...baseFlags, namespace: undefined, allNamespaces: true } as never, { client, now: NOW });
    expect(out.trimEnd().split('\n').slice(1, 3).map((r) => r.split(/\s+/)[0])).toEqual(['apps/analyzer', 'learning/search']);
    expect(nock.isDone()).toBe(true);
  });

  it('an unknown RolloutPlan exits 1 naming namespace/name; an empty namespace says so', async () => {
    nock(SERVER)
      .get(`${LIST_PATH}/ghost`)
      .reply(404, { ...statusError(404, 'NotFound', 'rolloutplans.rollgate.dev "ghost" not found'), details: { name: 'ghost', group: 'rollgate.dev', kind: 'rolloutplans' } })
      .get('/apis/rollgate.dev/v1alpha1/namespaces/empty/rolloutplans')
      .query({ limit: '500' })
      .reply(200, list([]));
    const res = await exitOf(statusCommand('ghost', baseFlags, { client: kubeClient(), now: NOW }));
    expect(res).toEqual({ code: 1, message: 'unknown rollout learning/ghost: no RolloutPlan ghost in namespace learning' });
    expect(await statusCommand(undefined, { ...baseFlags, namespace: 'empty' }, { client: kubeClient(), now: NOW })).toBe(0);
    expect(out).toBe('no RolloutPlans in namespace empty\n');
  });

  it('403 Forbidden: one clear line naming what was read, exit 1', async () => {
    const message = 'rolloutplans.rollgate.dev is forbidden: User "alice" cannot list resource "rolloutplans" in API group "rollgate.dev" in the namespace "learning"';
    nock(SERVER)
      .get(LIST_PATH)
      .query({ limit: '500' })
      .reply(403, { ...statusError(403, 'Forbidden', message), details: { group: 'rollgate.dev', kind: 'rolloutplans' } });
    const res = await exitOf(statusCommand(undefined, baseFlags, { client: kubeClient(), now: NOW }));
    expect(res).toEqual({ code: 1, message: `cannot list RolloutPlans in namespace learning: forbidden (403): ${message}` });
    expect(res.message).not.toContain('\n');
    expect(out).toBe('');
  });

  it('--watch prints again when the status changes and stops on SIGINT', async () => {
    const [, , analyzer] = plans();
    const advanced = { ...analyzer!, status: { ...analyzerStatus(), lastDecision: 'advance', phase: 'full', weight: 100, seq: 3, records: [r1, r2, record(3, { decision: 'advance', weight: { from: 10, to: 100 } })] } };
    nock(SERVER).get(`${LIST_PATH}/analyzer`).twice().reply(200, analyzer).get(`${LIST_PATH}/analyzer`).times(20).reply(200, advanced);
    const listeners = process.listenerCount('SIGINT');
    const tty = process.stdout.isTTY;
    process.stdout.isTTY = false; // as when piped: a table only when it changed
    onTestFinished(() => void (process.stdout.isTTY = tty));
    const running = statusCommand('analyzer', { ...baseFlags, watch: true }, { client: kubeClient(), now: NOW });
    await vi.waitFor(() => expect(out).toContain('full'), { timeout: 3000, interval: 50 });
    process.emit('SIGINT');
    expect(await running).toBe(0);
    const tables = out.split('ROLLOUT').length - 1;
    expect(tables).toBe(2); // the unchanged second read printed nothing
    expect(out).toMatch(/progressing\s+canary\s+10%/);
    expect(out).toMatch(/progressing\s+full\s+100%/);
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });

  it('the registered command takes -n/--kubeconfig (a kubeconfig file pointing at the API server)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollgate-kc-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: SERVER, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'alice', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'alice', namespace: 'learning' } }],
        'current-context': 'x',
      }),
    );
    try {
      nock(SERVER).get(LIST_PATH).query({ limit: '500' }).reply(200, list(plans()));
      // no -n: the context's namespace (learning)
      await buildProgram().parseAsync(['node', 'rollgate', 'status', '--kubeconfig', kubeconfig, '--output', 'json']);
      expect(process.exitCode).toBe(0);
      expect(out.trimEnd().split('\n')).toHaveLength(3);
      nock(SERVER).get(CM_PATH).reply(200, configMap(lines(r1, mark(1), r2)));
      out = '';
      await buildProgram().parseAsync(['node', 'rollgate', 'history', 'analyzer', '-n', 'learning', '--kubeconfig', kubeconfig, '--output', 'json']);
      expect(out).toBe(lines(r1, r2));
    } finally {
      process.exitCode = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rollgate history NAME -n NS', () => {
  it('--output json prints exactly the decision records of the ConfigMap, one per line, without applied marks', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap(lines(r1, mark(1), r2)));
    expect(await historyCommand('analyzer', { ...baseFlags, output: 'json' }, { client: kubeClient() })).toBe(0);
    expect(out).toBe(lines(r1, r2));
    expect(out).not.toContain('"applied"');
    expect(err).toBe('');
    expect(nock.isDone()).toBe(true);
  });

  it('text output uses the standalone formatter (the RolloutPlan read for its time zone: none here, UTC)', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap(lines(r1, mark(1), r2))).get(`${LIST_PATH}/analyzer`).reply(200, rolloutPlan('analyzer', fileSpec('/tmp/x')));
    expect(await historyCommand('learning/analyzer', { ...baseFlags, namespace: undefined } as never, { client: kubeClient() })).toBe(0);
    expect(out).toBe([r1, r2].map((r) => `${formatDecisionText(r)}\n`).join(''));
    expect(nock.isDone()).toBe(true);
  });

  it('a compacted journal: the kept records on stdout, what was dropped on stderr', async () => {
    const kept: DecisionRecord[] = [record(41, { decision: 'start', kind: 'lifecycle', revision: '1.1.0', enters: { phase: 'canary', index: 0 } }), record(42)];
    const summary = { throughSeq: 40, records: 40, marks: 12, bytes: 40_000, from: '2025-11-01T10:00:00Z', to: '2025-11-02T10:00:00Z', counts: { start: 2, continue: 38 }, compactions: 2, at: '2025-11-03T09:00:00Z' };
    nock(SERVER).get(CM_PATH).reply(200, configMap(lines(kept[0]!, mark(41), kept[1]!), { [COMPACTED_KEY]: JSON.stringify(summary) }));
    expect(await historyCommand('analyzer', { ...baseFlags, output: 'json' }, { client: kubeClient() })).toBe(0);
    expect(out).toBe(lines(...kept));
    expect(err).toBe(
      'note: configmap learning/rollgate-journal-analyzer was compacted (2 times, last at 2025-11-03T09:00:00Z): 40 earlier decision records (seq 1-40, 2025-11-01T10:00:00Z to 2025-11-02T10:00:00Z; start 2, continue 38) and 12 applied marks were dropped; shown from seq 41\n',
    );
  });

  it('an unknown RolloutPlan without a journal exits 1 naming namespace/name', async () => {
    nock(SERVER)
      .get('/api/v1/namespaces/learning/configmaps/rollgate-journal-ghost')
      .reply(404, { ...statusError(404, 'NotFound', 'configmaps "rollgate-journal-ghost" not found'), details: { name: 'rollgate-journal-ghost', kind: 'configmaps' } })
      .get(`${LIST_PATH}/ghost`)
      .reply(404, { ...statusError(404, 'NotFound', 'rolloutplans.rollgate.dev "ghost" not found'), details: { name: 'ghost', group: 'rollgate.dev', kind: 'rolloutplans' } });
    const res = await exitOf(historyCommand('ghost', baseFlags, { client: kubeClient() }));
    expect(res).toEqual({ code: 1, message: 'unknown rollout learning/ghost: no RolloutPlan ghost in namespace learning and no journal (configmap learning/rollgate-journal-ghost not found)' });
    expect(out).toBe('');
  });

  it('a RolloutPlan whose journal is missing exits 1: not yet seen by a controller', async () => {
    nock(SERVER)
      .get(CM_PATH)
      .reply(404, { ...statusError(404, 'NotFound', 'configmaps "rollgate-journal-analyzer" not found'), details: { name: 'rollgate-journal-analyzer', kind: 'configmaps' } })
      .get(`${LIST_PATH}/analyzer`)
      .reply(200, rolloutPlan('analyzer', fileSpec('/tmp/x')));
    const res = await exitOf(historyCommand('analyzer', baseFlags, { client: kubeClient() }));
    expect(res.code).toBe(1);
    expect(res.message).toBe('rollout learning/analyzer has no journal yet (configmap learning/rollgate-journal-analyzer not found or empty): not yet seen by a controller');
  });

  it('403 on the ConfigMap: one clear line, exit 1', async () => {
    const message = 'configmaps "rollgate-journal-analyzer" is forbidden: User "alice" cannot get resource "configmaps" in API group "" in the namespace "learning"';
    nock(SERVER).get(CM_PATH).reply(403, { ...statusError(403, 'Forbidden', message), details: { name: 'rollgate-journal-analyzer', kind: 'configmaps' } });
    const res = await exitOf(historyCommand('analyzer', baseFlags, { client: kubeClient() }));
    expect(res).toEqual({ code: 1, message: `cannot read the journal of learning/analyzer (configmap learning/rollgate-journal-analyzer): forbidden (403): ${message}` });
  });

  it('an unreachable API server: one line naming the server', async () => {
    nock(SERVER).get(CM_PATH).replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }));
    const res = await exitOf(historyCommand('analyzer', baseFlags, { client: kubeClient() }));
    expect(res.code).toBe(1);
    expect(res.message).toBe(`cannot read the journal of learning/analyzer (configmap learning/rollgate-journal-analyzer): cannot reach the Kubernetes API server at ${SERVER} (ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:6443)`);
  });

  it('a namespace in NAME that disagrees with -n is a usage error', async () => {
    const res = await exitOf(historyCommand('apps/analyzer', baseFlags, { client: kubeClient() }));
    expect(res).toEqual({ code: 2, message: 'apps/analyzer: namespace apps disagrees with -n learning' });
  });
});

describe('planStatusSummary', () => {
  it('falls back to the status fields when the records are missing', () => {
    const s = planStatusSummary({ ...rolloutPlan('analyzer', fileSpec('/tmp/x')), status: { ...analyzerStatus(), records: [] } });
    expect(s).toMatchObject({ status: 'progressing', next: `next action at ${NEXT.at}`, lastDecision: { seq: 2, decision: 'continue', at: r2.at, reason: null } });
  });
});

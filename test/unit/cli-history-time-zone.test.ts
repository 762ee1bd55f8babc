/**
 * `rollgate history` in text shows each record's time (and its next action's) in the plan's
 * time zone next to UTC, as `status` does: from the plan note in a state dir, from the
 * RolloutPlan's spec in cluster mode (nock shaped like the API). A UTC plan, a rollout without
 * a plan note and a RolloutPlan that is gone keep the RFC 3339 `at`; `--output json` prints the
 * records as journalled whatever the time zone (and reads no RolloutPlan for it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DecisionRecord, JournalEntry } from '../../src/core/record.js';
import { FileJournal } from '../../src/journal/file-journal.js';
import { historyCommand } from '../../src/cli/history.js';
import { JOURNAL_KEY } from '../../src/cluster/kube-journal.js';
import { writePlanNote, type PlanNote } from '../../src/statedir/plan-note.js';
import { record } from '../helpers/records.js';
import { fileSpec, kubeClient, rolloutPlan, SERVER, statusError } from './kube-fixtures.js';

/** A start at 14:00:01Z, and a checkpoint just before midnight UTC (past it in Berlin) with a next checkpoint. */
function records(rollout: string): DecisionRecord[] {
  return [
    record(1, { rollout, enters: { phase: 'canary', index: 0 } }),
    record(2, { rollout, at: '2025-11-01T23:30:00.250Z', checkpoint: { index: 1, of: 2, due: '2025-11-01T23:30:00.000Z', window: '20m' }, next: { what: 'checkpoint 2/2 of canary', at: '2025-11-01T23:50:00.000Z' } }),
  ];
}

/** The two heads in Europe/Berlin (CET, UTC+1 on these dates). */
const BERLIN = (rollout: string) => [
  `2025-11-01 15:00:01 Europe/Berlin (14:00:01Z) ${rollout} #1 lifecycle at canary: start — record 1; weight 0→10`,
  `2025-11-02 00:30 Europe/Berlin (2025-11-01T23:30Z) ${rollout} #2 checkpoint 1/2 of canary: continue — record 2; weight 0→10, next checkpoint 2/2 of canary at 2025-11-02 00:50 Europe/Berlin (2025-11-01T23:50Z)`,
];
/** The same heads for a UTC plan: the records' own `at`. */
const UTC = (rollout: string) => [
  `2025-11-01T14:00:01.000Z ${rollout} #1 lifecycle at canary: start — record 1; weight 0→10`,
  `2025-11-01T23:30:00.250Z ${rollout} #2 checkpoint 1/2 of canary: continue — record 2; weight 0→10, next checkpoint 2/2 of canary at 2025-11-01T23:50Z`,
];

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const lines = () => out.trimEnd().split('\n');

describe('rollgate history (state dir): times in the time zone of the plan note', () => {
  let stateDir: string;
  const note = (rollout: string, timeZone: string | null): PlanNote => ({ rollout, file: '/plans/x.yaml', revision: '2025.11.1', planHash: 'sha256:abc', timeZone, guard: null, rejected: null });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'rollgate-history-tz-'));
    const journal = new FileJournal(stateDir);
    for (const id of ['shop/berlin', 'shop/utc', 'shop/nonote']) for (const r of records(id)) await journal.append(id, r);
    await journal.close();
    await writePlanNote(stateDir, note('shop/berlin', 'Europe/Berlin'));
    await writePlanNote(stateDir, note('shop/utc', null));
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('a plan with a time zone: each record at its wall clock there, then UTC; the next action too', async () => {
    expect(await historyCommand('shop/berlin', { stateDir, output: 'text' })).toBe(0);
    expect(lines()).toEqual(BERLIN('shop/berlin'));
  });

  it('a UTC plan, and a rollout without a plan note: the RFC 3339 times as before', async () => {
    expect(await historyCommand('shop/utc', { stateDir, output: 'text' })).toBe(0);
    expect(lines()).toEqual(UTC('shop/utc'));
    out = '';
    expect(await historyCommand('shop/nonote', { stateDir, output: 'text' })).toBe(0);
    expect(lines()).toEqual(UTC('shop/nonote'));
  });

  it('--output json: the records as journalled, whatever the time zone', async () => {
    expect(await historyCommand('shop/berlin', { stateDir, output: 'json' })).toBe(0);
    expect(out).toBe(records('shop/berlin').map((r) => `${JSON.stringify(r)}\n`).join(''));
  });
});

describe('rollgate history -n NS: times in the time zone of the RolloutPlan spec', () => {
  const CM_PATH = '/api/v1/namespaces/learning/configmaps/rollgate-journal-analyzer';
  const PLAN_PATH = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
  const flags = { stateDir: '/nonexistent/state-dir', output: 'text', namespace: 'learning' };
  const id = 'learning/analyzer';
  const journalText = (...entries: JournalEntry[]) => entries.map((e) => `${JSON.stringify(e)}\n`).join('');
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'rollgate-journal-analyzer', namespace: 'learning', uid: 'cm-uid', resourceVersion: '77', creationTimestamp: '2025-11-01T13:00:00Z', labels: { 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' } },
    data: { [JOURNAL_KEY]: journalText(...records(id)) },
  };
  const berlinWindows = { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00', timezone: 'Europe/Berlin' }] };
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; path?: string }) => unmatched.push(`${req.method} ${req.path}`);

  beforeEach(() => {
    unmatched.length = 0;
    nock.disableNetConnect();
    nock.emitter.on('no match', onNoMatch);
  });
  afterEach(() => {
    nock.emitter.removeListener('no match', onNoMatch);
    nock.cleanAll();
    nock.enableNetConnect();
    expect(unmatched).toEqual([]);
  });

  it('a RolloutPlan whose windows are in Europe/Berlin: each record there, then UTC', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap).get(PLAN_PATH).reply(200, rolloutPlan('analyzer', fileSpec('/tmp/x', berlinWindows)));
    expect(await historyCommand('analyzer', flags, { client: kubeClient() })).toBe(0);
    expect(lines()).toEqual(BERLIN(id));
    expect(err).toBe('');
    expect(nock.isDone()).toBe(true);
  });

  it('a RolloutPlan without windows, or one in UTC: the RFC 3339 times as before', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap).get(PLAN_PATH).reply(200, rolloutPlan('analyzer', fileSpec('/tmp/x')));
    expect(await historyCommand('analyzer', flags, { client: kubeClient() })).toBe(0);
    expect(lines()).toEqual(UTC(id));
    out = '';
    const utcWindows = { windows: [{ start: '09:00', end: '17:00', timezone: 'UTC' }] };
    nock(SERVER).get(CM_PATH).reply(200, configMap).get(PLAN_PATH).reply(200, rolloutPlan('analyzer', fileSpec('/tmp/x', utcWindows)));
    expect(await historyCommand('analyzer', flags, { client: kubeClient() })).toBe(0);
    expect(lines()).toEqual(UTC(id));
    expect(nock.isDone()).toBe(true);
  });

  it('a deleted RolloutPlan (its journal not yet collected): UTC, nothing on stderr', async () => {
    nock(SERVER)
      .get(CM_PATH)
      .reply(200, configMap)
      .get(PLAN_PATH)
      .reply(404, { ...statusError(404, 'NotFound', 'rolloutplans.rollgate.dev "analyzer" not found'), details: { name: 'analyzer', group: 'rollgate.dev', kind: 'rolloutplans' } });
    expect(await historyCommand('analyzer', flags, { client: kubeClient() })).toBe(0);
    expect(lines()).toEqual(UTC(id));
    expect(err).toBe('');
  });

  it('a RolloutPlan that cannot be read: the records in UTC, and why on stderr', async () => {
    const message = 'rolloutplans.rollgate.dev "analyzer" is forbidden: User "alice" cannot get resource "rolloutplans" in API group "rollgate.dev" in the namespace "learning"';
    nock(SERVER).get(CM_PATH).reply(200, configMap).get(PLAN_PATH).reply(403, { ...statusError(403, 'Forbidden', message), details: { name: 'analyzer', group: 'rollgate.dev', kind: 'rolloutplans' } });
    expect(await historyCommand('analyzer', flags, { client: kubeClient() })).toBe(0);
    expect(lines()).toEqual(UTC(id));
    expect(err).toBe(`note: times in UTC: cannot read RolloutPlan learning/analyzer: forbidden (403): ${message}\n`);
  });

  it('--output json reads only the journal ConfigMap and prints the records as journalled', async () => {
    nock(SERVER).get(CM_PATH).reply(200, configMap);
    expect(await historyCommand('analyzer', { ...flags, output: 'json' }, { client: kubeClient() })).toBe(0);
    expect(out).toBe(journalText(...records(id)));
    expect(nock.isDone()).toBe(true);
  });
});

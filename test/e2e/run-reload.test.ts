/**
 * Hot reload of plan files under a running `rollgate run` (it re-reads them every 2 s):
 * new thresholds are recorded as `plan-updated` (kind lifecycle, new planHash) and used from the
 * next judgement on; a new `spec.revision` starts a new rollout; an invalid edit is logged and
 * the rollout keeps running under the plan it had.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  planYaml,
  range,
  readJournal,
  readSplit,
  seqs,
  startRun,
  stopRun,
  waitFor,
  waitForRecord,
  workspace,
  writeAtomic,
  useRunEnvironment,
} from './run-helpers.js';

const env = useRunEnvironment();

describe('rollgate run: plan files edited while it runs', () => {
  it('thresholds -> plan-updated; new revision -> start; invalid edit -> logged, old plan kept', async () => {
    const ws = workspace();
    // A directory of plans, as `rollgate run DIR` watches it.
    const plans = path.join(ws.dir, 'plans');
    mkdirSync(plans);
    const file = path.join(plans, 'shop.yaml');
    // A checkpoint every second for an hour: the rollout keeps judging at canary 10%.
    const plan = (o: { max: number; revision: string }) =>
      planYaml({ routerFile: ws.routerFile, revision: o.revision, max: o.max, phases: [{ name: 'canary', weight: 10, checkpoints: '[{ every: 1s, until: 1h }]' }, { name: 'full', weight: 100, checkpoints: '[1s]' }] });
    writeAtomic(file, plan({ max: 0.01, revision: '1' }));
    const run = startRun([plans], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const detail = () => `journal:\n${readJournal(ws.stateDir).lines.join('\n')}\nstderr:\n${run.stderr().slice(-4000)}`;

    const first = await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'a first checkpoint', { proc: run });
    const hash1 = first.planHash;
    expect(first.metrics).toMatchObject([{ name: 'error-rate', max: 0.01, verdict: 'pass' }]);

    // --- 1. new thresholds: plan-updated with the new hash, used from the next judgement on.
    writeAtomic(file, plan({ max: 0.02, revision: '1' }));
    const updated = await waitForRecord(ws.stateDir, (r) => r.decision === 'plan-updated', 'plan-updated', { proc: run });
    expect(updated).toMatchObject({ kind: 'lifecycle', actor: 'controller', revision: '1', phase: 'canary', weight: { from: 10, to: 10 } });
    expect(updated.planHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(updated.planHash).not.toBe(hash1);
    expect(updated.enters).toBeUndefined(); // same phase
    const hash2 = updated.planHash;
    const judgedUnder2 = await waitForRecord(ws.stateDir, (r) => r.seq > updated.seq && r.kind === 'checkpoint', 'a checkpoint under the new plan', { proc: run });
    expect(judgedUnder2).toMatchObject({ planHash: hash2, decision: 'continue' });
    expect(judgedUnder2.metrics).toMatchObject([{ max: 0.02, verdict: 'pass' }]);
    // The rollout kept its position: it did not start over.
    expect(judgedUnder2.checkpoint!.index).toBeGreaterThan(1);
    expect(readJournal(ws.stateDir).records.filter((r) => r.decision === 'start')).toHaveLength(1);

    // --- 2. a new revision starts a new rollout from the first phase.
    writeAtomic(file, plan({ max: 0.02, revision: '2' }));
    const start2 = await waitForRecord(ws.stateDir, (r) => r.decision === 'start' && r.revision === '2', 'the start of revision 2', { proc: run });
    expect(start2).toMatchObject({ kind: 'lifecycle', actor: 'controller', enters: { phase: 'canary', index: 0 }, weight: { to: 10 } });
    expect(start2.reason).toMatch(/revision 2 replaces 1/);
    const hash3 = start2.planHash;
    expect(hash3).not.toBe(hash2);
    expect(readJournal(ws.stateDir).records.filter((r) => r.seq > updated.seq && r.seq < start2.seq).every((r) => r.kind === 'checkpoint')).toBe(true);
    const firstOf2 = await waitForRecord(ws.stateDir, (r) => r.seq > start2.seq && r.kind === 'checkpoint', 'the first checkpoint of revision 2', { proc: run });
    expect(firstOf2).toMatchObject({ revision: '2', planHash: hash3, checkpoint: { index: 1 } });

    // --- 3. an invalid edit: an error is logged, nothing is recorded for it, the rollout goes
    // on under revision 2's plan.
    const errorsBefore = (run.stderr().match(/plan not applied/g) ?? []).length;
    writeAtomic(file, plan({ max: 0.02, revision: '3' }).replace('weight: 100', 'weight: 150'));
    const errorLine = await waitFor(() => run.stderr().split('\n').filter((l) => l.includes('plan not applied'))[errorsBefore], {
      what: 'the error about the invalid plan',
      detail,
    });
    expect(JSON.parse(errorLine)).toMatchObject({ level: 'error' });
    expect(errorLine).toMatch(/shop\.yaml:\d+:\d+: spec\.phases\[1\]\.weight: /);
    const seqAtError = readJournal(ws.stateDir).records.at(-1)!.seq;
    // Two more checkpoints, judged under the old plan (revision 2's hash).
    const later = await waitForRecord(ws.stateDir, (r) => r.seq >= seqAtError + 2 && r.kind === 'checkpoint', 'checkpoints after the invalid edit', { proc: run });
    const since = readJournal(ws.stateDir).records.filter((r) => r.seq > seqAtError && r.seq <= later.seq);
    expect(since.map((r) => [r.kind, r.decision, r.revision, r.planHash])).toEqual(since.map(() => ['checkpoint', 'continue', '2', hash3]));
    expect(run.stderr()).not.toMatch(/no longer managed/);
    expect(readSplit(ws.routerFile)?.canary).toBe(10);

    // --- 4. the file fixed back to revision 2's plan: nothing new to record.
    writeAtomic(file, plan({ max: 0.02, revision: '2' }));
    const fixedAt = readJournal(ws.stateDir).records.at(-1)!.seq;
    await waitForRecord(ws.stateDir, (r) => r.seq >= fixedAt + 3, 'three more decisions', { proc: run });
    const after = readJournal(ws.stateDir).records.filter((r) => r.seq > fixedAt);
    expect(after.every((r) => r.kind === 'checkpoint' && r.planHash === hash3)).toBe(true);

    expect((await stopRun(run)).code).toBe(0);
    const { records } = readJournal(ws.stateDir);
    expect(seqs(records)).toEqual(range(records.length));
    expect(records.filter((r) => r.kind === 'lifecycle').map((r) => [r.decision, r.revision])).toEqual([
      ['start', '1'],
      ['plan-updated', '1'],
      ['start', '2'],
    ]);
  });
});

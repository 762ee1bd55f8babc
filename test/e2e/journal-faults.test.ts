/**
 * Journal faults against a real `rollgate run` (the CI-sized variant of
 * `npm run harness:journal-faults`; JOURNAL_FAULT_TRIALS sets the trials, default 3):
 *
 * - ENOSPC at write: the state dir is on a real 256 KiB tmpfs that each trial fills up while
 *   the rollout advances every second, then frees. While full, /readyz must answer 503 naming
 *   the journal and the error, and the split file must never show a split that has no durable
 *   record; after freeing, /readyz returns to 200 and the rollout goes on.
 * - A torn line: the controller is SIGKILLed, half a record is appended to its journal (what a
 *   crash mid-write leaves), and a restart must drop it and go on without a duplicate or a gap.
 *
 * At the end: seq 1..N with no gap or duplicate, every line whole, and the split file equal to
 * the last decided split. The figures (trials, violations) are printed as one JSON line.
 * The file journal never compacts (append-only JSONL), so there is no compaction crash point.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import {
  journalFile,
  planYaml,
  readJournal,
  readSplit,
  startRun,
  stopRun,
  useRunEnvironment,
  waitFor,
  workspace,
  type DecisionRecord,
  type RunProc,
} from './run-helpers.js';

const TRIALS = Math.max(1, Number(process.env.JOURNAL_FAULT_TRIALS ?? 3));
const env = useRunEnvironment();
const mounted = mountTmpfs('256k');
const skip = 'skip' in mounted ? mounted.skip : undefined;
const fs = mounted as Tmpfs;

afterAll(() => {
  if (!skip) fs.unmount();
});

async function readyz(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.text() };
}

/** The split a router may show given the journal: the last split-changing decision's target, or (apply pending) its origin. */
function allowedSplits(records: DecisionRecord[]): number[] {
  const changing = records.filter((r) => r.weight.from !== r.weight.to);
  const last = changing.at(-1);
  return last ? [last.weight.to, last.weight.from] : [0];
}

describe.skipIf(skip !== undefined)(`journal faults under rollgate run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it(`${TRIALS} disk-full trials and a torn line: no gap, no duplicate, no split without a durable record, /readyz 503 while full`, async () => {
    const ws = workspace();
    const stateDir = path.join(fs.dir, 'state');
    mkdirSync(stateDir);
    // Enough one-second phases for every trial: the split changes every second or so.
    const phases = Array.from({ length: TRIALS * 8 + 10 }, (_, i) => ({ name: `p${i}`, weight: (i % 9) * 10 + 10, checkpoints: '[1s]' }));
    phases.push({ name: 'full', weight: 100, checkpoints: '[1s]' });
    writeFileSync(ws.plan, planYaml({ routerFile: ws.routerFile, phases, guard: '{ interval: 5s }' }));
    const rollout = 'default/shop';
    const violations: string[] = [];
    let splitChecks = 0;
    let run: RunProc = startRun([ws.plan], { stateDir, prometheus: env.prom.url });
    let url = await run.url();

    const checkSplit = () => {
      const split = readSplit(ws.routerFile);
      const records = readJournal(stateDir, rollout).records;
      splitChecks++;
      if (split && !allowedSplits(records).includes(split.canary)) {
        violations.push(`split file shows ${split.canary}% but the journal's last decision (#${records.at(-1)?.seq}) allows ${allowedSplits(records).join(' or ')}`);
      }
    };
    const recordsNow = () => readJournal(stateDir, rollout).records.length;

    for (let trial = 0; trial < TRIALS; trial++) {
      const before = recordsNow();
      await waitFor(() => recordsNow() >= before + 2, { what: `trial ${trial}: the rollout to advance`, detail: () => run.stderr().slice(-2000) });
      fs.fill();
      let unready: { status: number; body: string } | undefined;
      try {
        unready = await waitFor(
          async () => {
            checkSplit();
            const r = await readyz(url);
            return r.status === 503 ? r : undefined;
          },
          { what: `trial ${trial}: /readyz to turn 503 on a full disk`, detail: () => run.stderr().slice(-2000) },
        );
        // While full: nothing new is journalled, so the split holds (checked at each of a few
        // /readyz answers, which pace the checks).
        const frozen = recordsNow();
        for (let i = 0; i < 5; i++) {
          checkSplit();
          await readyz(url);
        }
        if (recordsNow() !== frozen) violations.push(`trial ${trial}: a record was journalled while the disk was full`);
      } finally {
        fs.free();
      }
      expect(JSON.parse(unready!.body).reason).toMatch(new RegExp(`journal cannot be written since \\S+ \\(rollout ${rollout}\\): journal ${journalFile(stateDir, rollout)}: append failed: ENOSPC`));
      await waitFor(async () => (await readyz(url)).status === 200, { what: `trial ${trial}: /readyz back to 200 after freeing the disk`, detail: () => run.stderr().slice(-2000) });
      const after = recordsNow();
      await waitFor(() => recordsNow() > after, { what: `trial ${trial}: the rollout to go on` });
      checkSplit();
    }

    // A torn line: a crash mid-write, then a restart.
    run.child.kill('SIGKILL');
    await run.exited;
    const tornSeq = readJournal(stateDir, rollout).records.at(-1)!.seq + 1;
    appendFileSync(journalFile(stateDir, rollout), `{"seq":${tornSeq},"rollout":"${rollout}","revision":"1","kind":"checkp`);
    run = startRun([ws.plan], { stateDir, prometheus: env.prom.url });
    url = await run.url();
    await waitFor(() => readJournal(stateDir, rollout).records.some((r) => r.seq === tornSeq), { what: 'the restarted controller to journal the seq the torn line had', detail: () => run.stderr().slice(-2000) });
    expect(run.stderr()).toMatch(/truncated a torn last line/);
    checkSplit();
    await stopRun(run);

    const { lines, records, marks } = readJournal(stateDir, rollout);
    const raw = readFileSync(journalFile(stateDir, rollout), 'utf8');
    if (!raw.endsWith('\n')) violations.push('the journal ends in a torn line after a clean stop');
    const seqs = records.map((r) => r.seq);
    const expected = Array.from({ length: seqs.length }, (_, i) => i + 1);
    if (JSON.stringify(seqs) !== JSON.stringify(expected)) violations.push(`seqs are not 1..${seqs.length} without gap or duplicate: ${seqs.join(',')}`);
    const lastChange = records.filter((r) => r.weight.from !== r.weight.to).at(-1);
    const lastMark = marks.at(-1);
    if (lastChange && lastMark && lastMark.applied >= lastChange.seq && readSplit(ws.routerFile)?.canary !== lastChange.weight.to) {
      violations.push(`split file ${JSON.stringify(readSplit(ws.routerFile))} differs from the last applied decision #${lastChange.seq} (${lastChange.weight.to}%)`);
    }
    console.log(JSON.stringify({ harness: 'journal-faults', trials: TRIALS, diskFullTrials: TRIALS, tornLines: 1, records: records.length, lines: lines.length, splitChecks, violations: violations.length }));
    expect(violations).toEqual([]);
  }, 60_000 + TRIALS * 30_000);
});

/**
 * `rollgate status` and `rollgate history` beside a running `rollgate run`: they read the
 * journals of its state dir (no lock needed). status shows rollout, revision, status, phase,
 * split, what comes next and the last decision (text and --output json); history --output json
 * prints exactly the journal's decision records, one JSON per line and nothing else; an
 * unknown rollout exits 1.
 */
import { formatInstant } from '../../src/support/human-time.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import {
  hasStackTrace,
  killAll,
  planYaml,
  readJournal,
  removeTempDirs,
  rollgate,
  startRun,
  stopRun,
  waitForMark,
  waitForRecord,
  workspace,
  type DecisionRecord,
  type RunProc,
} from './run-helpers.js';

let prom: RunningPrometheus;
let run: RunProc;
const ws = workspace();
/** The last record once the rollout has settled: checkpoint 1/2 passed, the next is 10 min away. */
let settled: DecisionRecord;

beforeAll(async () => {
  prom = await startPrometheus();
  writeFileSync(
    ws.plan,
    planYaml({
      routerFile: ws.routerFile,
      revision: '2025.11.1',
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s, 10m]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    }),
  );
  run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: prom.url });
  settled = await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2 of canary', { proc: run });
  await waitForMark(ws.stateDir, 1, { proc: run });
});
afterAll(async () => {
  try {
    if (run && !run.exit()) expect((await stopRun(run)).code).toBe(0);
  } finally {
    await killAll();
    await prom?.stop();
    removeTempDirs();
  }
});

const cli = (...args: string[]) => rollgate([...args, '--state-dir', ws.stateDir]);

describe('rollgate status', () => {
  it('shows rollout, revision, status, phase, split and the last decision (text)', async () => {
    const res = await cli('status');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ROLLOUT\s+REVISION\s+STATUS\s+PHASE\s+SPLIT\s+NEXT\s+LAST DECISION$/);
    const row = lines[1]!;
    expect(row).toMatch(/^default\/shop\s+2025\.11\.1\s+progressing\s+canary\s+10%\s+/);
    // The last decision with how long ago it was taken (relative to now: no absolute time asserted).
    expect(row).toContain(`#${settled.seq} continue `);
    expect(row.endsWith(` ago: ${settled.reason}`), row).toBe(true);
    // Then the rollout's block: its next checkpoint and the metrics of the last judgement.
    expect(lines.slice(2, 4)).toEqual(['', 'default/shop']);
    expect(lines.some((l) => l.startsWith('  judged     #'))).toBe(true);
    // By name and by namespace/name: the same rollout (times move on between the calls).
    const shape = (out: string) => out.split('\n').map((l) => l.replace(/\d+(\.\d+)?/g, 'N')); // "3 s" and "1.8 s" alike
    for (const one of await Promise.all([cli('status', 'shop'), cli('status', 'default/shop')])) {
      expect(one.code, one.stderr).toBe(0);
      expect(shape(one.stdout)).toEqual(shape(res.stdout));
    }
  });

  it('--output json: one object per rollout with the same facts', async () => {
    const res = await cli('status', '--output', 'json');
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(s).toMatchObject({
      rollout: 'default/shop',
      revision: '2025.11.1',
      status: 'progressing',
      phase: 'canary',
      weight: 10,
      mirror: 0,
      applied: { weight: 10, mirror: 0 },
      waitingFor: null,
      lastDecision: { seq: settled.seq, decision: 'continue', kind: 'checkpoint', at: settled.at, reason: settled.reason, actor: 'controller' },
    });
    expect(typeof s.next).toBe('string');
  });

  // The contract (decision-record.md): status shows the "next checkpoint" of each rollout.
  it('shows when the next checkpoint of a progressing rollout is due', async () => {
    const phaseStart = Date.parse(readJournal(ws.stateDir).marks.find((m) => m.applied === 1)!.at);
    const due = new Date(phaseStart + 10 * 60_000).toISOString();
    const json = JSON.parse((await cli('status', '--output', 'json')).stdout) as { next: string };
    expect(json.next).toContain(due);
    expect(json.next).toMatch(/checkpoint 2\/2/);
    // In text: the same instant without milliseconds (the plan has no time zone: UTC alone).
    const text = await cli('status');
    expect(text.stdout).toContain(`at ${formatInstant(Date.parse(due))}`);
  });

  it('an unknown rollout exits 1 naming it', async () => {
    const res = await cli('status', 'unknown');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/unknown rollout unknown/);
    expect(hasStackTrace(res.stderr)).toBe(false);
  });
});

describe('rollgate history', () => {
  it('--output json prints exactly the decision records of the journal, one per line', async () => {
    const res = await cli('history', 'shop', '--output', 'json');
    expect(res.code, res.stderr).toBe(0);
    const journal = readJournal(ws.stateDir);
    expect(journal.records.length).toBeGreaterThanOrEqual(2);
    expect(res.stdout.endsWith('\n')).toBe(true);
    const lines = res.stdout.slice(0, -1).split('\n');
    // Nothing else: every line is one record (no applied marks, no log lines).
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(journal.records);
    // Byte for byte what the journal holds for those records.
    expect(lines).toEqual(journal.lines.filter((l) => !l.startsWith('{"applied"')));
    expect(res.stderr).toBe('');
  });

  it('text output has one entry per decision (its metrics indented below it)', async () => {
    const res = await cli('history', 'default/shop');
    expect(res.code, res.stderr).toBe(0);
    const { records } = readJournal(ws.stateDir);
    const heads = res.stdout.trimEnd().split('\n').filter((l) => !l.startsWith(' '));
    expect(heads).toHaveLength(records.length);
    records.forEach((r, i) => expect(heads[i]!.startsWith(`${r.at} default/shop #${r.seq} `)).toBe(true));
    expect(heads[0]).toMatch(/: start\b/);
    expect(heads[1]).toMatch(/: continue\b/);
  });

  it('an unknown rollout exits 1 naming it, with nothing on stdout', async () => {
    const res = await cli('history', 'unknown', '--output', 'json');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^rollgate: unknown rollout unknown in .* \(known: default\/shop\)\n$/);
    expect(hasStackTrace(res.stderr)).toBe(false);
  });
});

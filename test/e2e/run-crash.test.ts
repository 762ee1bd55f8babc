/**
 * Crash between journal and router: `rollgate run` is SIGKILLed (by the preload
 * test/e2e/kill-after-journal.mjs) after it journalled the first `advance` and before the file
 * router applied it. A restart on
 * the same state dir takes over the dead pid's lock, re-applies the journalled split, continues
 * and completes, and the journal stays a clean log: seq 1..N, one applied mark per split
 * change, no decision taken twice.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import {
  lockFile,
  planYaml,
  range,
  readJournal,
  readSplit,
  seqs,
  splitChanging,
  startRun,
  stopRun,
  waitExit,
  waitForRecord,
  workspace,
  exists,
  killAfterJournalled,
  useRunEnvironment,
} from './run-helpers.js';

const env = useRunEnvironment();

describe('rollgate run: SIGKILL between journal write and router apply', () => {
  it('restarts, takes over the lock, re-applies the journalled split once and completes', async () => {
    const ws = workspace();
    writeFileSync(
      ws.plan,
      planYaml({
        routerFile: ws.routerFile,
        phases: [
          { name: 'canary', weight: 10, checkpoints: '[1s, 2s]' },
          { name: 'ramp', weight: 50, checkpoints: '[1s, 2s]' },
          { name: 'full', weight: 100, checkpoints: '[1s]' },
        ],
      }),
    );
    // With healthy constant metrics the records are: 1 start, 2 continue, 3 advance (10 -> 50).
    const FIRST_ADVANCE = 3;

    // --- first run: dies by its own SIGKILL right after journalling decision 3
    const first = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url, nodeArgs: killAfterJournalled(FIRST_ADVANCE) });
    const died = await waitExit(first);
    expect(died, first.stderr().slice(-3000)).toEqual({ code: null, signal: 'SIGKILL' });

    const crashed = readJournal(ws.stateDir);
    const advance = crashed.records.find((r) => r.seq === FIRST_ADVANCE);
    expect(advance, crashed.lines.join('\n')).toMatchObject({
      decision: 'advance',
      kind: 'checkpoint',
      phase: 'canary',
      enters: { phase: 'ramp', index: 1 },
      weight: { from: 10, to: 50 },
    });
    expect(seqs(crashed.records)).toEqual(range(FIRST_ADVANCE)); // nothing after the advance
    expect(crashed.marks.map((m) => m.applied)).toEqual([1]); // start applied; the advance not
    expect(readSplit(ws.routerFile)).toEqual({ stable: 90, canary: 10, mirror: 0 });
    // The dead process's lock is left behind, naming its pid.
    expect(JSON.parse(readFileSync(lockFile(ws.stateDir), 'utf8'))).toMatchObject({ pid: first.pid });

    // --- second run: no fault
    const second = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const complete = await waitForRecord(ws.stateDir, (r) => r.decision === 'complete', 'the rollout to complete after the restart', { proc: second });
    expect(complete).toMatchObject({ phase: 'full', weight: { from: 100, to: 100 } });
    expect(readSplit(ws.routerFile)).toEqual({ stable: 0, canary: 100, mirror: 0 });

    // The lock of the dead pid was taken over, and now names the second run.
    expect(second.stderr()).toContain(`took over state dir lock`);
    expect(second.stderr()).toContain(`from pid ${first.pid}`);
    expect(JSON.parse(readFileSync(lockFile(ws.stateDir), 'utf8'))).toMatchObject({ pid: second.pid });
    // It noticed the router disagreeing with the journal and re-applied the advance's split.
    expect(second.stderr()).toMatch(/router disagrees with the journal; re-applying the last decided split/);

    const stop = await stopRun(second);
    expect(stop.code).toBe(0);
    expect(exists(lockFile(ws.stateDir))).toBe(false);

    const { records, marks, entries } = readJournal(ws.stateDir);
    // seq 1..N: no gap, no duplicate.
    expect(seqs(records)).toEqual(range(records.length));
    // The journal up to the crash is untouched: the restart only appended.
    expect(records.slice(0, FIRST_ADVANCE)).toEqual(crashed.records);

    // The whole history, once each: start, then per phase its checkpoints; the last one of a
    // phase advances, the last one of the rollout completes.
    expect(records.map((r) => [r.decision, r.phase, r.checkpoint?.index ?? null, r.weight.to])).toEqual([
      ['start', 'canary', null, 10],
      ['continue', 'canary', 1, 10],
      ['advance', 'canary', 2, 50],
      ['continue', 'ramp', 1, 50],
      ['advance', 'ramp', 2, 100],
      ['complete', 'full', 1, 100],
    ]);
    // No decision was taken twice (same phase, checkpoint and decision).
    const keys = records.map((r) => `${r.decision}|${r.phase}|${r.checkpoint?.index ?? '-'}`);
    expect(new Set(keys).size).toBe(keys.length);

    // Each split change has exactly one applied mark, with its split: the advance's mark was
    // written by the restart's reconcile (the router disagreed, so it re-applied rather than
    // only confirming), and there is no second one.
    const changes = splitChanging(records);
    expect(changes.map((r) => r.seq)).toEqual([1, 3, 5]);
    for (const r of changes) {
      const m = marks.filter((x) => x.applied === r.seq);
      expect(m, `applied marks of decision ${r.seq}`).toHaveLength(1);
      expect(m[0]).toMatchObject({ weight: r.weight.to, mirror: r.mirror.to });
    }
    expect(marks).toHaveLength(changes.length);
    // Every mark follows its record, and the re-applied advance is marked before the ramp's
    // first checkpoint is judged (checkpoints wait for the split to be in effect).
    const pos = (pred: (e: (typeof entries)[number]) => boolean) => entries.findIndex(pred);
    for (const r of changes) expect(pos((e) => 'applied' in e && e.applied === r.seq)).toBeGreaterThan(pos((e) => 'seq' in e && e.seq === r.seq));
    expect(pos((e) => 'applied' in e && e.applied === FIRST_ADVANCE)).toBeLessThan(pos((e) => 'seq' in e && e.seq === FIRST_ADVANCE + 1));
    // The ramp's clock starts when its split was really applied (after the restart): its
    // first checkpoint is due one second after that mark.
    const rampMark = marks.find((m) => m.applied === FIRST_ADVANCE)!;
    const rampFirst = records.find((r) => r.seq === FIRST_ADVANCE + 1)!;
    expect(Date.parse(rampFirst.checkpoint!.due) - Date.parse(rampMark.at)).toBe(1000);
  });
});

/**
 * Manual decisions (`rollgate pause|resume|promote|abort|retry NAME`) handed to a running
 * `rollgate run` through its state dir: accepted ones exit 0 and are journalled with
 * `kind: manual`, the --actor and the --reason; refused ones exit 1 with the reason on stderr;
 * without a controller on the state dir the command fails with a clear message.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import {
  hasStackTrace,
  planYaml,
  range,
  readJournal,
  readSplit,
  rollgate,
  seqs,
  startRun,
  stopRun,
  tempDir,
  waitForCanary,
  waitForMark,
  waitForRecord,
  workspace,
  type DecisionRecord,
  useRunEnvironment,
} from './run-helpers.js';

const env = useRunEnvironment();

describe('manual decisions against a running controller', () => {
  it('pause, pause again, resume, abort, retry, promote, unknown rollout', async () => {
    const ws = workspace();
    writeFileSync(
      ws.plan,
      planYaml({
        routerFile: ws.routerFile,
        phases: [
          { name: 'canary', weight: 10, checkpoints: '[1s]' },
          { name: 'full', weight: 100, checkpoints: '[1s]', approval: true },
        ],
      }),
    );
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const manual = (action: string, name: string, reason: string, actor = 'alice') =>
      rollgate([action, name, '--state-dir', ws.stateDir, '--reason', reason, '--actor', actor, '--timeout', '20']);
    const last = () => readJournal(ws.stateDir).records.at(-1)!;
    const waitApproval = (after: number) =>
      waitForRecord(ws.stateDir, (r) => r.seq > after && r.decision === 'wait' && r.waitingFor === 'approval', 'the wait for approval of phase full', { proc: run });

    // The canary passes its checkpoint; phase full needs an approval: the rollout waits at 10%.
    const wait = await waitApproval(0);
    expect(wait).toMatchObject({ phase: 'canary', enters: { phase: 'full', index: 1 }, weight: { from: 10, to: 10 } });
    await waitForCanary(ws.routerFile, 10);

    // pause: accepted, recorded with actor and reason.
    let seq = last().seq;
    const pause = await manual('pause', 'shop', 'investigating INC-42');
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toMatch(/paused at 10%.*\(decision #\d+\)/);
    let r: DecisionRecord = last();
    expect(r).toMatchObject({ seq: seq + 1, kind: 'manual', decision: 'pause', actor: 'alice', weight: { from: 10, to: 10 } });
    expect(r.reason).toContain('investigating INC-42');
    expect(pause.stdout).toContain(`(decision #${r.seq})`);

    // pause again: refused, with why, and nothing journalled.
    seq = last().seq;
    const again = await manual('pause', 'shop', 'twice');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused: .*already paused/);
    expect(again.stdout).toBe('');
    expect(last().seq).toBe(seq);

    // promote while paused at an approval gate would be allowed; resume first (actor bob).
    const resume = await manual('resume', 'default/shop', 'false alarm', 'bob');
    expect(resume.code, resume.stderr).toBe(0);
    r = last();
    expect(r).toMatchObject({ seq: seq + 1, kind: 'manual', decision: 'resume', actor: 'bob' });
    expect(r.reason).toContain('false alarm');

    // unknown rollout: refused, exit 1, naming it.
    const unknown = await manual('pause', 'nope', 'who?');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nope/);
    expect(unknown.stderr).toMatch(/not managed/);
    expect(hasStackTrace(unknown.stderr)).toBe(false);

    // abort: a manual abort, then the rollback to 0 (immediate), applied by the file router.
    seq = last().seq;
    const abort = await manual('abort', 'shop', 'bad canary');
    expect(abort.code, abort.stderr).toBe(0);
    const after = readJournal(ws.stateDir).records.filter((x) => x.seq > seq);
    expect(after.map((x) => [x.kind, x.decision, x.actor])).toEqual([
      ['manual', 'abort', 'alice'],
      ['manual', 'rollback', 'alice'],
    ]);
    expect(after[0]!.reason).toContain('bad canary');
    expect(after[1]!.weight).toEqual({ from: 10, to: 0 });
    await waitForMark(ws.stateDir, after[1]!.seq);
    expect(readSplit(ws.routerFile)).toEqual({ stable: 100, canary: 0, mirror: 0 });

    // abort again: refused (already rolled back).
    const abort2 = await manual('abort', 'shop', 'again');
    expect(abort2.code).toBe(1);
    expect(abort2.stderr).toMatch(/refused: .*rolled back/);

    // retry: starts again from the first phase at 10%.
    seq = last().seq;
    const retry = await manual('retry', 'shop', 'fixed config', 'carol');
    expect(retry.code, retry.stderr).toBe(0);
    r = readJournal(ws.stateDir).records.find((x) => x.seq === seq + 1)!;
    // (`phase` is where the rollout was, `enters` where it goes, as for an advance.)
    expect(r).toMatchObject({ decision: 'start', kind: 'manual', actor: 'carol', enters: { phase: 'canary', index: 0 }, weight: { from: 0, to: 10 } });
    expect(r.reason).toContain('fixed config');
    await waitForCanary(ws.routerFile, 10);

    // ... and waits for the approval of phase full again; promote approves it.
    await waitApproval(r.seq);
    seq = last().seq;
    const promote = await manual('promote', 'shop', 'LGTM', 'dave');
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(/promoted into phase full/);
    const promoted = readJournal(ws.stateDir).records.filter((x) => x.seq > seq);
    expect(promoted[0]).toMatchObject({ kind: 'manual', decision: 'promote', actor: 'dave', enters: { phase: 'full', index: 1 } });
    expect(promoted[0]!.reason).toContain('LGTM');
    // The phase begins: the split goes to 100%.
    const advance = promoted.find((x) => x.decision === 'advance')!;
    expect(advance).toMatchObject({ phase: 'full', weight: { from: 10, to: 100 } });
    await waitForCanary(ws.routerFile, 100);
    await waitForRecord(ws.stateDir, (x) => x.decision === 'complete', 'the rollout to complete', { proc: run });

    // promote a complete rollout: refused.
    const promote2 = await manual('promote', 'shop', 'more');
    expect(promote2.code).toBe(1);
    expect(promote2.stderr).toMatch(/refused: .*nothing to promote/);

    const { records } = readJournal(ws.stateDir);
    expect(seqs(records)).toEqual(range(records.length));
    expect((await stopRun(run)).code).toBe(0);
  });

  it('fails with exit 1 and a clear message when no controller runs on the state dir', async () => {
    const empty = tempDir();
    const actions = ['pause', 'resume', 'promote', 'abort', 'retry'];
    const results = await Promise.all(actions.map((action) => rollgate([action, 'shop', '--state-dir', empty, '--reason', 'x', '--actor', 'alice'])));
    for (const [i, action] of actions.entries()) {
      const res = results[i]!;
      expect(res.code, `${action}: ${res.stderr}`).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^rollgate: no rollgate run owns state dir ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(hasStackTrace(res.stderr)).toBe(false);
      expect(res.stdout).toBe('');
    }
  });

  it('fails with exit 1 when the controller of the state dir is gone (stale lock)', async () => {
    const ws = workspace();
    writeFileSync(ws.plan, planYaml({ routerFile: ws.routerFile, phases: [{ name: 'canary', weight: 10, checkpoints: '[10m]' }] }));
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    await waitForMark(ws.stateDir, 1, { proc: run });
    run.child.kill('SIGKILL');
    await run.exited;
    const res = await rollgate(['pause', 'shop', '--state-dir', ws.stateDir, '--actor', 'alice']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`pid ${run.pid}`);
    expect(res.stderr).toMatch(/not running/);
    expect(hasStackTrace(res.stderr)).toBe(false);
    expect(readJournal(ws.stateDir).records.map((x) => x.decision)).toEqual(['start']);
  });
});

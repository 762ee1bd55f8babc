/**
 * `rollgate status` after `kill -9` of the `rollgate run` that owned the state dir: it must say
 * that no controller owns the state dir (text: a WARNING line; JSON: `controller.state`), and
 * mark the next checkpoint overdue once its due time passed by more than the margin — while
 * the controller runs, it says who owns the state dir and nothing is overdue.
 */
import { describe, expect, it } from 'vitest';
import { formatInstant } from '../../src/support/human-time.js';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { planYaml, readJournal, rollgate, startRun, useRunEnvironment, waitFor, waitForRecord, workspace } from './run-helpers.js';

const env = useRunEnvironment();

describe('rollgate status when nothing is watching', () => {
  it('says no controller owns the state dir after kill -9, and marks the due checkpoint overdue', async () => {
    const ws = workspace();
    writeFileSync(ws.plan, planYaml({ routerFile: ws.routerFile, phases: [{ name: 'dark', weight: 0, checkpoints: '[2s, 25s]' }, { name: 'full', weight: 100, checkpoints: '[1s]' }] }));
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    await waitForRecord(ws.stateDir, (r) => r.decision === 'start', 'the start of the rollout', { proc: run });

    const live = await rollgate(['status', '--state-dir', ws.stateDir, '--output', 'json']);
    expect(live.code, live.stderr).toBe(0);
    const liveSummary = JSON.parse(live.stdout.trim().split('\n')[0]!);
    expect(liveSummary.controller).toMatchObject({ state: 'running', pid: run.pid, hostname: hostname() });
    expect(liveSummary.overdue).toBeNull();

    const first = await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2 of dark', { proc: run });
    run.child.kill('SIGKILL');
    await run.exited;
    const last = readJournal(ws.stateDir).records.at(-1)!;
    expect(last.seq).toBe(first.seq); // nothing after checkpoint 1/2: the next is checkpoint 2/2
    const due = Date.parse((last.next as { at: string }).at);

    // Right after the kill: nothing owns the state dir; the checkpoint is not yet overdue.
    const dead = await rollgate(['status', '--state-dir', ws.stateDir, '--output', 'json', '--overdue-after', '1h']);
    const deadSummary = JSON.parse(dead.stdout.trim().split('\n')[0]!);
    expect(deadSummary.controller).toMatchObject({ state: 'none', pid: run.pid });
    expect(deadSummary.controller.detail).toMatch(new RegExp(`no rollgate run owns state dir ${ws.stateDir}: its lock names rollgate run pid ${run.pid} on .* which is not running`));
    expect(deadSummary.overdue).toBeNull();
    expect(deadSummary.status).toBe('progressing');

    // Once the due time passed by more than the margin: overdue, in JSON and in text.
    await waitFor(() => Date.now() > due + 1_500, { what: 'checkpoint 2/2 to be due for more than 1 s', timeoutMs: 60_000 });
    const json = await rollgate(['status', '--state-dir', ws.stateDir, '--output', 'json', '--overdue-after', '1s']);
    const overdue = JSON.parse(json.stdout.trim().split('\n')[0]!).overdue;
    expect(overdue).toMatchObject({ what: 'checkpoint 2/2 of dark', due: new Date(due).toISOString() });
    expect(overdue.bySeconds).toBeGreaterThanOrEqual(1);
    const text = await rollgate(['status', '--state-dir', ws.stateDir, '--overdue-after', '1s']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^WARNING: no rollgate run owns state dir .*, which is not running; nothing is acting on these rollouts$/);
    // How overdue, relative to now (the NEXT column); the due instant is in the rollout's block.
    expect(lines[2]).toMatch(/progressing\s+dark\s+0%\s+checkpoint 2\/2 of dark (\d+(\.\d)? s|\d+m\d*s?) OVERDUE\s+#/);
    expect(lines).toContain(`  next       checkpoint 2/2 of dark ${lines[2]!.match(/of dark (.+?) OVERDUE/)![1]} OVERDUE, at ${formatInstant(due)}`);
  }, 90_000);

  it('with no lock at all (the controller stopped cleanly): says so', async () => {
    const ws = workspace();
    writeFileSync(ws.plan, planYaml({ routerFile: ws.routerFile, phases: [{ name: 'dark', weight: 0, checkpoints: '[1s, 10m]' }, { name: 'full', weight: 100, checkpoints: '[1s]' }] }));
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2 of dark', { proc: run });
    run.child.kill('SIGTERM');
    await run.exited;
    const text = await rollgate(['status', '--state-dir', ws.stateDir]);
    expect(text.stdout.split('\n')[0]).toBe(`WARNING: no rollgate run owns state dir ${ws.stateDir}: no lock file there; nothing is acting on these rollouts`);
  }, 60_000);
});

/**
 * A plan edit that `rollgate run` rejects (a weight of 250) is shown by `rollgate status`: the
 * plan note in the state dir (statedir/plan-note.ts) names the file's error and the revision
 * still running; the next valid edit clears it. The note also gives status the plan's time
 * zone and the guard's size.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { planYaml, readJournal, rollgate, startRun, stopRun, waitFor, waitForRecord, workspace, writeAtomic, useRunEnvironment } from './run-helpers.js';

const env = useRunEnvironment();

interface Summary {
  revision: string;
  planEdit: { errors: string[]; runningRevision: string; runningPlanHash: string; at: string } | null;
  guard: { strikes: number; consecutive: number; interval: string } | null;
  timeZone: string | null;
}

describe('rollgate status: a plan edit not applied', () => {
  it('shows the rejected edit with its error and the revision running, until a valid edit applies', async () => {
    const ws = workspace();
    const plan = (weight: number, revision = '1') =>
      planYaml({ routerFile: ws.routerFile, revision, guard: '{ interval: 1s, consecutive: 3 }', phases: [{ name: 'canary', weight, checkpoints: '[{ every: 1s, until: 1h }]' }, { name: 'full', weight: 100, checkpoints: '[1s]' }] }) +
      '  windows: [{ days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "23:59", timezone: Europe/Berlin }]\n';
    writeAtomic(ws.plan, plan(10));
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const detail = () => `journal:\n${readJournal(ws.stateDir).lines.join('\n')}\nstderr:\n${run.stderr().slice(-4000)}`;
    try {
      await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'the first checkpoint', { proc: run });
      const status = async (): Promise<Summary> => {
        const res = await rollgate(['status', 'shop', '--state-dir', ws.stateDir, '--output', 'json']);
        expect(res.code, res.stderr).toBe(0);
        return JSON.parse(res.stdout) as Summary;
      };
      const before = await status();
      expect(before).toMatchObject({ planEdit: null, timeZone: 'Europe/Berlin', guard: { consecutive: 3, interval: '1s' } });
      const note = path.join(ws.stateDir, 'plans', 'default', 'shop.json');
      expect(existsSync(note)).toBe(true);

      // A broken live edit: the controller keeps the running plan and says why in the note.
      writeAtomic(ws.plan, plan(250));
      const rejected = await waitFor(async () => (await status()).planEdit ?? false, { what: 'status to show the rejected edit', timeoutMs: 60_000, intervalMs: 500, detail });
      expect(rejected.runningRevision).toBe('1');
      expect(rejected.errors).toHaveLength(1);
      expect(rejected.errors[0]).toMatch(new RegExp(`^${ws.plan.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: spec\\.phases\\[0\\]\\.weight: `));
      const text = await rollgate(['status', '--state-dir', ws.stateDir]);
      expect(text.code, text.stderr).toBe(0);
      const line = text.stdout.split('\n').find((l) => l.startsWith('  plan edit  '));
      expect(line).toBe(`  plan edit  NOT APPLIED (${rejected.errors[0]}); running revision 1 (${rejected.runningPlanHash.slice(0, 19)})`);
      expect(readJournal(ws.stateDir).records.some((r) => r.revision !== '1')).toBe(false);

      // A valid edit applies (a new revision starts) and the rejection is gone.
      writeAtomic(ws.plan, plan(20, '2'));
      const applied = await waitFor(async () => {
        const s = await status();
        return s.planEdit === null && s.revision === '2' ? s : false;
      }, { what: 'the valid edit to apply and clear the rejection', timeoutMs: 60_000, intervalMs: 500, detail });
      expect(applied.planEdit).toBeNull();
      expect(JSON.parse(readFileSync(note, 'utf8'))).toMatchObject({ revision: '2', rejected: null });
    } finally {
      await stopRun(run);
    }
  }, 180_000);
});

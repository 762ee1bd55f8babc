/**
 * `rollgate report` on the journal of a real `rollgate run` (dist/main.js, the file router, a
 * real Prometheus): with Prometheus reachable, the report carries each metric's range over the
 * rollout's span (points bounded, the query the engine sent); with Prometheus down it is still
 * written, and `rangesNote` says why it has no ranges. The HTML embeds the same RolloutPage;
 * `--plan` gives the plan's phases; an unknown rollout exits 1, a usage error 2.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import type { RolloutPage } from '../../src/dashboard/view.js';
import { planYaml, readJournal, rollgate, startRun, stopRun, useRunEnvironment, waitForRecord, workspace } from './run-helpers.js';

const env = useRunEnvironment();
const ws = workspace();

/** The RolloutPage a report HTML embeds. */
function embedded(html: string): RolloutPage {
  const m = /<script type="application\/json" id="rollgate-data">(.*?)<\/script>/s.exec(html);
  if (!m) throw new Error('no embedded data in the report');
  return JSON.parse(m[1]!) as RolloutPage;
}

beforeAll(async () => {
  writeFileSync(
    ws.plan,
    planYaml({
      routerFile: ws.routerFile,
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s, 2s]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    }),
  );
  const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
  await waitForRecord(ws.stateDir, (r) => r.decision === 'complete', 'the rollout to complete', { proc: run, timeoutMs: 60_000 });
  expect((await stopRun(run)).code).toBe(0);
});

const cli = (...args: string[]) => rollgate(['report', ...args, '--state-dir', ws.stateDir], { timeoutMs: 60_000 });

describe('rollgate report', () => {
  it('Prometheus reachable: an HTML file with the records and each metric range over the span', async () => {
    const out = path.join(ws.dir, 'report.html');
    const res = await cli('shop', '-o', out, '--prometheus', env.prom.url);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`report of default/shop written to ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script[^>]+src=/); // self-contained: nothing fetched
    const page = embedded(html);
    const journal = readJournal(ws.stateDir).records;
    expect(page.source).toBe('report');
    expect(page.records.map((r) => r.seq)).toEqual(journal.map((r) => r.seq));
    expect(page.recordsOmitted).toBe(0);
    expect(page.summary).toMatchObject({ rollout: 'default/shop', status: 'complete', health: 'complete' });
    expect(page.rangesNote).toBeNull();
    expect(page.ranges).toHaveLength(1);
    const [range] = page.ranges;
    const sent = journal.filter((r) => r.kind === 'checkpoint').at(-1)!.metrics as Array<{ query: string }>;
    expect(range).toMatchObject({ metric: 'error-rate', query: sent[0]!.query, step: 1 });
    expect(range!.points.length).toBeGreaterThan(1);
    expect(range!.points.length).toBeLessThanOrEqual(1000);
    expect(range!.points.every(([, v]) => v === 0.001)).toBe(true);
    const first = Date.parse(journal[0]!.at) / 1000;
    const last = Date.parse(journal.at(-1)!.at) / 1000;
    expect(range!.points[0]![0]).toBeLessThanOrEqual(first);
    expect(range!.points.at(-1)![0]).toBeLessThanOrEqual(last);
    expect(range!.points.at(-1)![0]).toBeGreaterThan(last - 2);
  });

  it('Prometheus down: the report is still written, and rangesNote says why it has no ranges', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const res = await cli('shop', '--format', 'json', '--prometheus', down);
    expect(res.code, res.stderr).toBe(0);
    const page = JSON.parse(res.stdout) as RolloutPage;
    expect(page.ranges).toEqual([]);
    expect(page.rangesNote).toContain(`Prometheus at ${down} did not answer`);
    expect(res.stderr).toContain(`note: ${page.rangesNote}`);
    expect(page.records.length).toBe(readJournal(ws.stateDir).records.length);
  });

  it('--plan: the phases of the plan; no address at all: the note says so', async () => {
    const res = await cli('default/shop', '--format', 'json', '--plan', ws.plan);
    expect(res.code, res.stderr).toBe(0);
    const page = JSON.parse(res.stdout) as RolloutPage;
    expect(page.phases).toEqual([
      { name: 'canary', weight: 10, mirror: 0, checkpoints: 2, durationSeconds: 2 },
      { name: 'full', weight: 100, mirror: 0, checkpoints: 1, durationSeconds: 1 },
    ]);
    expect(page.summary.guard).toEqual({ strikes: 0, consecutive: 2 });
    expect(page.rangesNote).toMatch(/no Prometheus address/);
  });

  it('an unknown rollout exits 1; a bad --format or a --plan of another rollout exits 2', async () => {
    const unknown = await cli('nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown rollout nope/);
    const format = await cli('shop', '--format', 'pdf');
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format: expected html or json, got "pdf"');
    const other = path.join(ws.dir, 'other.yaml');
    writeFileSync(other, planYaml({ name: 'other', routerFile: ws.routerFile, phases: [{ name: 'a', weight: 10, checkpoints: '[1s]' }] }));
    const wrongPlan = await cli('shop', '--plan', other);
    expect(wrongPlan.code).toBe(2);
    expect(wrongPlan.stderr).toContain(`--plan: ${other} has no plan of rollout default/shop (it has: default/other)`);
  });
});

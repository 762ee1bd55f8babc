/**
 * The state-dir lock and the life of a `rollgate run` process: a second `run` on the same state
 * dir is refused while the first runs (naming its pid); /healthz and /readyz answer 200 and
 * /metrics agrees with the file router and the journal; SIGTERM stops it cleanly (exit 0 within
 * seconds, lock released), after which the state dir can be taken again.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  exists,
  hasStackTrace,
  lockFile,
  parseMetrics,
  planYaml,
  readJournal,
  readSplit,
  startRun,
  stopRun,
  waitExit,
  waitFor,
  waitForMark,
  waitForRecord,
  workspace,
  useRunEnvironment,
} from './run-helpers.js';

const env = useRunEnvironment();

/** A plan that settles at canary 10% after its first checkpoint (the next one is 10 min away). */
function settledPlan(ws: ReturnType<typeof workspace>): void {
  writeFileSync(
    ws.plan,
    planYaml({
      routerFile: ws.routerFile,
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s, 10m]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    }),
  );
}

describe('rollgate run: state-dir lock', () => {
  it('a second run on the same state dir is refused, naming the owner pid, while the first runs', async () => {
    const ws = workspace();
    settledPlan(ws);
    const first = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    await waitForMark(ws.stateDir, 1, { proc: first });
    const before = readFileSync(lockFile(ws.stateDir), 'utf8');
    expect(JSON.parse(before)).toMatchObject({ pid: first.pid, owner: 'rollgate run' });

    const second = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const exit = await waitExit(second);
    expect(exit, second.stderr()).toEqual({ code: 1, signal: null });
    expect(second.stderr()).toMatch(new RegExp(`^rollgate: state dir .*state is owned by rollgate run pid ${first.pid} on .* since .*; stop it first or use another --state-dir$`, 'm'));
    expect(hasStackTrace(second.stderr())).toBe(false);
    expect(second.stdout()).toBe('');

    // The first is unharmed: still running, still owning the lock, its journal untouched by the second.
    expect(first.exit()).toBeNull();
    expect(readFileSync(lockFile(ws.stateDir), 'utf8')).toBe(before);
    const records = readJournal(ws.stateDir).records;
    expect(records.filter((r) => r.decision === 'start')).toHaveLength(1);

    // Once the first stops, the state dir can be taken again.
    expect((await stopRun(first)).code).toBe(0);
    const third = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    await third.url();
    expect(JSON.parse(readFileSync(lockFile(ws.stateDir), 'utf8'))).toMatchObject({ pid: third.pid });
    expect((await stopRun(third)).code).toBe(0);
  });
});

describe('rollgate run: HTTP endpoints and clean stop', () => {
  it('serves /healthz, /readyz, /metrics matching router and journal; SIGTERM exits 0 and releases the lock', async () => {
    const ws = workspace();
    settledPlan(ws);
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const url = await run.url();
    await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2', { proc: run });
    await waitForMark(ws.stateDir, 1, { proc: run });

    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ ok: true });
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parseMetrics(await res.text());
    const weight = samples.filter((s) => s.name === 'rollgate_rollout_canary_weight');
    expect(weight).toEqual([{ name: 'rollgate_rollout_canary_weight', labels: { rollout: 'default/shop' }, value: 10 }]);
    expect(weight[0]!.value).toBe(readSplit(ws.routerFile)!.canary);

    // rollgate_decisions_total per (kind, decision) = the journal's records.
    const { records } = readJournal(ws.stateDir);
    const expected: Record<string, number> = {};
    for (const r of records) expected[`${r.kind}/${r.decision}`] = (expected[`${r.kind}/${r.decision}`] ?? 0) + 1;
    const counted: Record<string, number> = {};
    for (const s of samples.filter((x) => x.name === 'rollgate_decisions_total')) {
      expect(s.labels.rollout).toBe('default/shop');
      counted[`${s.labels.kind}/${s.labels.decision}`] = s.value;
    }
    expect(counted).toEqual(expected);
    expect(expected).toEqual({ 'lifecycle/start': 1, 'checkpoint/continue': 1 });
    expect(samples.find((s) => s.name === 'rollgate_leader')?.value).toBe(1);

    expect(exists(lockFile(ws.stateDir))).toBe(true);
    const stop = await stopRun(run);
    expect(stop.code, run.stderr().slice(-2000)).toBe(0);
    expect(stop.signal).toBeNull();
    expect(stop.ms).toBeLessThan(5_000);
    expect(exists(lockFile(ws.stateDir))).toBe(false);
    expect(run.stderr()).toMatch(/rollgate run stopped cleanly/);
    // The HTTP server is gone with it.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    // A clean stop journals nothing and leaves the split as it was.
    expect(readJournal(ws.stateDir).records).toEqual(records);
    expect(readSplit(ws.routerFile)).toEqual({ stable: 90, canary: 10, mirror: 0 });
  });

  it('after a restart, /metrics reports the journalled split before any new decision', async () => {
    const ws = workspace();
    settledPlan(ws);
    const first = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url, listen: 'off' });
    await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2', { proc: first });
    await waitForMark(ws.stateDir, 1, { proc: first });
    expect((await stopRun(first)).code).toBe(0);
    const before = readJournal(ws.stateDir);

    // Restarted: the rollout sits at canary 10%, its next checkpoint 10 minutes away.
    const second = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const url = await second.url();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const samples = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(readJournal(ws.stateDir).lines).toEqual(before.lines); // nothing new decided
    const weight = samples.find((s) => s.name === 'rollgate_rollout_canary_weight' && s.labels.rollout === 'default/shop');
    expect(weight?.value, 'rollgate_rollout_canary_weight after a restart').toBe(readSplit(ws.routerFile)!.canary);
    const info = samples.find((s) => s.name === 'rollgate_rollout_info' && s.labels.rollout === 'default/shop');
    expect(info?.labels, 'rollgate_rollout_info after a restart').toMatchObject({ revision: '1', phase: 'canary', status: 'progressing' });
    expect((await stopRun(second)).code).toBe(0);
  });

  it('SIGINT stops cleanly too', async () => {
    const ws = workspace();
    settledPlan(ws);
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url, listen: 'off' });
    await waitForMark(ws.stateDir, 1, { proc: run });
    run.child.kill('SIGINT');
    const exit = await waitExit(run, 10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exists(lockFile(ws.stateDir))).toBe(false);
  });

  it('a SIGTERM during start-up, as soon as the lock is taken, still stops cleanly (exit 0, lock released)', async () => {
    const ws = workspace();
    settledPlan(ws);
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    // The lock is taken first thing: the journal replay, the router and the HTTP server follow.
    await waitFor(() => exists(lockFile(ws.stateDir)), { what: 'the state-dir lock', intervalMs: 2 });
    run.child.kill('SIGTERM');
    const exit = await waitExit(run, 20_000);
    expect(exit, run.stderr()).toEqual({ code: 0, signal: null });
    expect(exists(lockFile(ws.stateDir))).toBe(false);
  });
});

/**
 * `rollgate run` on a plan it cannot load: exit 1 with each problem as `FILE:LINE:COL: path:
 * message` (no stack trace); nothing is started: no journal, no lock, the router file untouched.
 * No Prometheus is needed: nothing may be queried.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exists, hasStackTrace, killAll, planYaml, removeTempDirs, startRun, waitExit, workspace } from './run-helpers.js';

afterEach(async () => {
  await killAll();
});
afterAll(async () => {
  await killAll();
  removeTempDirs();
});

const ROUTER_BEFORE = '{"stable":75,"canary":25,"mirror":0}\n';

/** Runs `rollgate run` on `text` (written to plan.yaml) and checks that nothing was touched. */
async function runInvalid(plan: (routerFile: string) => string, opts: { preexistingState?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const ws = workspace();
  writeFileSync(ws.plan, plan(ws.routerFile));
  writeFileSync(ws.routerFile, ROUTER_BEFORE);
  const mtime = statSync(ws.routerFile).mtimeMs;
  if (opts.preexistingState) mkdirSync(ws.stateDir);
  // cwd = the plan's dir and a relative path, as a user types it.
  const run = startRun(['plan.yaml'], { stateDir: ws.stateDir, prometheus: 'http://127.0.0.1:9', cwd: ws.dir, ...(opts.env ? { env: opts.env } : {}) });
  const exit = await waitExit(run);
  expect(exit, run.stderr()).toEqual({ code: 1, signal: null });
  expect(run.stdout()).toBe('');
  expect(hasStackTrace(run.stderr())).toBe(false);
  // Nothing started: no journal, no lock, the router file as it was.
  if (opts.preexistingState) expect(readdirSync(ws.stateDir)).toEqual([]);
  else expect(exists(ws.stateDir)).toBe(false);
  expect(exists(path.join(ws.stateDir, 'journal'))).toBe(false);
  expect(exists(path.join(ws.stateDir, 'lock'))).toBe(false);
  expect(readFileSync(ws.routerFile, 'utf8')).toBe(ROUTER_BEFORE);
  expect(statSync(ws.routerFile).mtimeMs).toBe(mtime);
  return { ws, stderr: run.stderr() };
}

describe('rollgate run: invalid plan at start', () => {
  const valid = (routerFile: string) =>
    planYaml({
      routerFile,
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    });

  it('an out-of-range weight: FILE:LINE:COL: path: message, exit 1, nothing touched', async () => {
    const plan = (f: string) => valid(f).replace('weight: 100', 'weight: 150');
    const line = plan('x').split('\n').findIndex((l) => l.includes('weight: 150')) + 1;
    const { stderr } = await runInvalid(plan);
    expect(stderr).toMatch(/^rollgate: invalid plans; nothing was started:$/m);
    expect(stderr).toMatch(new RegExp(`^plan\\.yaml:${line}:\\d+: spec\\.phases\\[1\\]\\.weight: .*150`, 'm'));
  });

  it('a YAML syntax error and an unknown field, into an existing empty state dir', async () => {
    const { stderr } = await runInvalid((f) => valid(f).replace('checkpoints: [1s]\n', 'checkpoints: [1s\n'), { preexistingState: true });
    expect(stderr).toMatch(/^plan\.yaml:\d+:\d+: \(yaml\): .+/m);

    const unknown = (f: string) => valid(f).replace('  analysis:', '  analysys:');
    const line = unknown('x').split('\n').findIndex((l) => l.startsWith('  analysys:')) + 1;
    const res = await runInvalid(unknown);
    expect(res.stderr).toMatch(new RegExp(`^plan\\.yaml:${line}:3: spec\\.analysys: .+`, 'm'));
  });

  it('a query that does not parse (issue 7, defect 2): refused at its position, nothing queried or touched', async () => {
    const { stderr } = await runInvalid((f) => valid(f).replace('sum(vector(0.001))', 'sum(vector(0.001)'));
    const line = valid('x').split('\n').findIndex((l) => l.includes('sum(vector(0.001))')) + 1;
    expect(stderr).toMatch(new RegExp(`^plan\\.yaml:${line}:\\d+: spec\\.metrics\\[0\\]\\.query: PromQL syntax error: missing "\\)" to close "sum\\("$`, 'm'));
  });

  it('an unset ${VARIABLE} is an error naming it', async () => {
    const env = { ROLLGATE_E2E_UNSET_FACTOR: undefined } as unknown as NodeJS.ProcessEnv;
    const { stderr } = await runInvalid((f) => valid(f).replace('sum(vector(0.001))', 'sum(vector(0.001)) * ${ROLLGATE_E2E_UNSET_FACTOR}'), { env });
    expect(stderr).toMatch(/^plan\.yaml:\d+:\d+: spec\.metrics\[0\]\.query: .*ROLLGATE_E2E_UNSET_FACTOR/m);
  });
});

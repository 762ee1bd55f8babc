/**
 * `rollgate run`'s logs, read as an operator or a log pipeline reads them: JSON by default when
 * stderr is not a terminal (level names, the rollout in the field and the message of every line
 * about one, one line per manual action accepted or refused, one line per applied split, the
 * last line written at a clean stop); pretty text with ROLLGATE_LOG_FORMAT=pretty or
 * --log-format pretty (no JSON, the rollout names in the text), and by default on a terminal (a
 * pseudo-terminal from util-linux `script`); a bad format is a usage error.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAIN, planYaml, readJournal, rollgate, startRun, stopRun, tempDir, waitFor, waitForCanary, waitForRecord, useRunEnvironment, type Proc } from './run-helpers.js';

const env = useRunEnvironment();

/** Two rollouts in one state dir: shop waits for an approval of phase full at 10%, cart completes. */
function twoRollouts() {
  const dir = tempDir('rollgate-logs-');
  const stateDir = path.join(dir, 'state');
  const shopRouter = path.join(dir, 'shop-split.json');
  const cartRouter = path.join(dir, 'cart-split.json');
  const shop = path.join(dir, 'shop.yaml');
  const cart = path.join(dir, 'cart.yaml');
  writeFileSync(
    shop,
    planYaml({
      name: 'shop',
      routerFile: shopRouter,
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s]' },
        { name: 'full', weight: 100, checkpoints: '[1s]', approval: true },
      ],
    }),
  );
  writeFileSync(
    cart,
    planYaml({
      name: 'cart',
      routerFile: cartRouter,
      phases: [
        { name: 'canary', weight: 20, checkpoints: '[1s]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    }),
  );
  return { dir, stateDir, shopRouter, plans: [shop, cart] };
}

type Line = Record<string, unknown> & { level: string; msg: string };

/** Generous: two rollouts and a Prometheus on a loaded machine. */
const WAIT = 120_000;

const waitApproval = (stateDir: string, proc: Proc) =>
  waitForRecord(stateDir, (r) => r.decision === 'wait' && r.waitingFor === 'approval', 'the wait for approval of phase full', { proc, timeoutMs: WAIT });

describe('rollgate run logs', () => {
  it('JSON: level names, every rollout line names it, one line per manual action and per applied split, nothing lost at a clean stop', { timeout: 600_000 }, async () => {
    const ws = twoRollouts();
    const run = startRun(ws.plans, { stateDir: ws.stateDir, prometheus: env.prom.url });
    await waitApproval(ws.stateDir, run);
    await waitForCanary(ws.shopRouter, 10);
    await waitForRecord(ws.stateDir, (r) => r.decision === 'complete', 'cart to complete', { proc: run, rollout: 'default/cart', timeoutMs: WAIT });

    const manual = (action: string, reason: string) => rollgate([action, 'shop', '--state-dir', ws.stateDir, '--reason', reason, '--actor', 'alice', '--timeout', '120'], { timeoutMs: WAIT });
    const paused = await manual('pause', 'INC-42');
    expect(paused.code, paused.stderr).toBe(0);
    const again = await manual('pause', 'INC-42 again');
    expect(again.code).toBe(1);

    const exit = await stopRun(run, WAIT);
    expect(exit.code, run.stderr()).toBe(0);
    const raw = run.stderr().split('\n').filter((l) => l !== '');
    const lines = raw.map((l) => JSON.parse(l) as Line);
    for (const l of lines) expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
    expect(lines.at(-1)!.msg).toBe('rollgate run stopped cleanly');

    // Every line about a rollout names it, in the field and at the start of the message.
    const about = lines.filter((l) => typeof l.rollout === 'string');
    expect(new Set(about.map((l) => l.rollout))).toEqual(new Set(['default/shop', 'default/cart']));
    for (const l of about) expect(l.msg.startsWith(`${String(l.rollout)}: `), l.msg).toBe(true);

    // One line per manual action: the accepted pause (info, with the decision), the refused one (warn, why).
    const manualLines = lines.filter((l) => l.event === 'manual');
    const pauseRecord = readJournal(ws.stateDir).records.find((r) => r.kind === 'manual' && r.decision === 'pause')!;
    expect(manualLines).toEqual([
      expect.objectContaining({ level: 'info', rollout: 'default/shop', action: 'pause', actor: 'alice', reason: 'INC-42', accepted: true, seq: pauseRecord.seq }),
      expect.objectContaining({ level: 'warn', rollout: 'default/shop', action: 'pause', actor: 'alice', reason: 'INC-42 again', accepted: false }),
    ]);
    expect(manualLines[0]!.msg).toBe(`default/shop: manual pause by alice accepted: shop paused at 10% (decision #${pauseRecord.seq}); reason: INC-42`);
    expect(manualLines[1]!.msg).toMatch(/^default\/shop: manual pause by alice refused: shop is already paused; reason: INC-42 again$/);
    expect(raw.filter((l) => /inbox: |requested by/.test(l))).toEqual([]);

    // One applied line per split the router confirmed, for each rollout.
    for (const id of ['default/shop', 'default/cart']) {
      const marks = readJournal(ws.stateDir, id).marks;
      const applied = lines.filter((l) => l.event === 'applied' && l.rollout === id);
      expect(applied.map((l) => l.seq)).toEqual(marks.map((m) => m.applied));
      expect(applied.map((l) => l.msg)).toEqual(marks.map((m) => `${id}: router file applied decision #${m.applied}: weight ${m.weight}%`));
    }
  });

  it('pretty (ROLLGATE_LOG_FORMAT=pretty, on a pipe): readable lines with the rollout names, no JSON, the last line written at a clean stop', { timeout: 600_000 }, async () => {
    const ws = twoRollouts();
    const run = startRun(ws.plans, { stateDir: ws.stateDir, prometheus: env.prom.url, env: { ROLLGATE_LOG_FORMAT: 'pretty' }, listen: 'off' });
    await waitApproval(ws.stateDir, run);
    await waitForRecord(ws.stateDir, (r) => r.decision === 'complete', 'cart to complete', { proc: run, rollout: 'default/cart', timeoutMs: WAIT });
    // The decision that made shop wait is logged once it is journalled; wait for its line.
    await waitFor(() => /default\/shop: checkpoint 1\/1 of canary: wait/.test(run.stderr()), { what: 'the wait decision line', timeoutMs: WAIT, detail: () => run.stderr() });
    const paused = await rollgate(['pause', 'shop', '--state-dir', ws.stateDir, '--reason', 'INC-42', '--actor', 'alice', '--timeout', '120'], { timeoutMs: WAIT });
    expect(paused.code, paused.stderr).toBe(0);
    const exit = await stopRun(run, WAIT);
    expect(exit.code, run.stderr()).toBe(0);
    const lines = run.stderr().split('\n').filter((l) => l !== '');
    for (const l of lines) expect(() => JSON.parse(l), l).toThrow();
    const head = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] (INFO|WARN|ERROR|DEBUG): /;
    for (const l of lines) expect(l, l).toMatch(head);
    expect(lines.some((l) => / INFO: default\/shop: router file applied decision #\d+: weight 10%$/.test(l))).toBe(true);
    expect(lines.some((l) => / INFO: default\/cart: router file applied decision #\d+: weight 100%$/.test(l))).toBe(true);
    expect(lines.some((l) => / INFO: default\/cart: full: complete|INFO: default\/cart: .*: complete/.test(l))).toBe(true);
    expect(lines.filter((l) => / INFO: default\/shop: manual pause by alice accepted: shop paused at 10% \(decision #\d+\); reason: INC-42$/.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/ INFO: rollgate run stopped cleanly$/);
  });

  it('--log-format wins over ROLLGATE_LOG_FORMAT; an unknown format is a usage error naming where it came from', { timeout: 300_000 }, async () => {
    const bad = await rollgate(['run', 'nothing.yaml', '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('rollgate: --log-format: expected json or pretty, got "xml"\n');
    const badEnv = await rollgate(['run', 'nothing.yaml'], { env: { ROLLGATE_LOG_FORMAT: 'yaml' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toBe('rollgate: ROLLGATE_LOG_FORMAT: expected json or pretty, got "yaml"\n');
    // A valid flag and an invalid variable: the flag is used, the variable not read (the run gets as far as the plan).
    const flagWins = await rollgate(['run', 'nothing.yaml', '--log-format', 'json'], { env: { ROLLGATE_LOG_FORMAT: 'yaml' } });
    expect(flagWins.code).toBe(1);
    expect(flagWins.stderr).toMatch(/nothing\.yaml/);
    expect(flagWins.stderr).not.toMatch(/ROLLGATE_LOG_FORMAT/);
  });

  it('on a terminal the default is pretty, with colours; on a pipe JSON (simulate against an unreachable Prometheus: one retry warning)', { timeout: 300_000 }, () => {
    const dir = tempDir('rollgate-logs-tty-');
    const file = path.join(dir, 'tty.yaml');
    writeFileSync(file, planYaml({ name: 'tty', routerFile: path.join(dir, 'split.json'), phases: [{ name: 'full', weight: 100, checkpoints: '[1m]' }] }));
    const args = [MAIN, 'simulate', file, '--from', 'now-1h', '--prometheus', 'http://127.0.0.1:1'];
    const childEnv = { ...process.env, ROLLGATE_LOG_LEVEL: 'warn', ROLLGATE_LOG_FORMAT: '', NO_COLOR: '' };
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const tty = spawnSync('script', ['-qec', [process.execPath, ...args].map(quote).join(' '), '/dev/null'], { encoding: 'utf8', env: childEnv, timeout: 240_000 });
    expect(tty.status, tty.stdout + tty.stderr).toBe(12);
    const warning = tty.stdout.split(/\r?\n/).find((l) => l.includes('prometheus query failed, retrying'));
    expect(warning, tty.stdout).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] \x1b\[\d+mWARN\x1b\[\d+m: .*default\/tty: prometheus query failed, retrying: cannot reach Prometheus at http:\/\/127\.0\.0\.1:1/);
    const pipe = spawnSync(process.execPath, args, { encoding: 'utf8', env: childEnv, timeout: 240_000 });
    expect(pipe.status).toBe(12);
    const line = pipe.stderr.split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(line!)).toMatchObject({ level: 'warn', rollout: 'default/tty', msg: expect.stringMatching(/^default\/tty: prometheus query failed, retrying/) });
  });
});

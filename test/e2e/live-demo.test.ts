/**
 * `npm run demo` as a user runs it (the built `node dist/demo/live.js`, stdout a pipe): it
 * ends with exactly one JSON object as its last line, prints plain lines without cursor
 * tricks when stdout is not a terminal, and leaves nothing running: every port it announced
 * is closed and its temp dir is gone, after a full run and after a Ctrl-C in the middle.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accepts } from '../../src/devtools/local-nginx.js';
import { killAll, waitFor, type Exit } from './run-helpers.js';

const LIVE = path.resolve(__dirname, '../../dist/demo/live.js');

interface Demo {
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
}

const started: Demo[] = [];

function startDemo(): Demo {
  const child = spawn(process.execPath, [LIVE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROLLGATE_LOG_LEVEL: undefined } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const demo = { pid: child.pid!, stdout: () => out, stderr: () => err, exited, kill: (s: NodeJS.Signals) => child.kill(s) };
  started.push(demo);
  return demo;
}

afterEach(async () => {
  for (const d of started.splice(0)) {
    d.kill('SIGKILL');
    await d.exited;
  }
  await killAll();
});

/** Every 127.0.0.1 port the demo announced (nginx, the services, Prometheus, /metrics). */
function announcedPorts(out: string): number[] {
  return [...new Set([...out.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))];
}

function tempDir(out: string): string {
  const m = /plan (\/\S+)\/checkout\.yaml/.exec(out);
  if (!m) throw new Error(`the demo did not say where its plan is:\n${out}`);
  return m[1]!;
}

async function openPorts(ports: number[]): Promise<number[]> {
  const open = await Promise.all(ports.map(async (p) => ((await accepts(p)) ? p : null)));
  return open.filter((p): p is number => p !== null);
}

describe('npm run demo (live)', () => {
  it('completes act 1, rolls act 2 back by the guard, ends with one JSON line and stops everything', async () => {
    const demo = startDemo();
    const exit = await demo.exited;
    const out = demo.stdout();
    expect(exit, `stdout:\n${out}\nstderr:\n${demo.stderr()}`).toEqual({ code: 0, signal: null });

    const lines = out.trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(last)).toEqual(['demo', 'act1', 'act2', 'breachToRollbackSeconds', 'act1FailedRequests']);
    expect(last).toMatchObject({ demo: 'done', act1: 'complete', act2: 'rolled back' });
    // Act 1 breaks nothing and nginx never reloads during it (lua mode): no live request fails.
    expect(last.act1FailedRequests).toBe(0);
    expect(out).toMatch(/live requests failed during act 1: 0$/m);
    expect(last.breachToRollbackSeconds).toBeTypeOf('number');
    expect(last.breachToRollbackSeconds as number).toBeGreaterThan(0);
    // Only the last line is JSON; everything before is for people.
    expect(lines.slice(0, -1).filter((l) => l.startsWith('{'))).toEqual([]);

    // Not a terminal: plain lines, no escape sequences.
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\r');
    // Each decision, as it happened, and what nginx applied.
    expect(out).toMatch(/#\d+ checkpoint 1\/1 of full: COMPLETE/);
    expect(out).toMatch(/#\d+ guard at canary: ROLLBACK — guard: error-rate: \S+ > max 0\.01 in 2 consecutive evaluations/);
    expect(out).toMatch(/applied by nginx: canary 0% of live traffic, 100% mirrored/);
    expect(out).toMatch(/status: phase canary \(progressing\) \| split 10%/);

    const ports = announcedPorts(out);
    expect(ports.length, out).toBeGreaterThanOrEqual(6); // nginx, v1, v2, v3, Prometheus, /metrics
    expect(await openPorts(ports)).toEqual([]);
    expect(existsSync(tempDir(out))).toBe(false);
  }, 180_000);

  it('on Ctrl-C in the middle of act 1, stops everything it started and exits 130', async () => {
    const demo = startDemo();
    await waitFor(() => /#\d+ checkpoint 1\/1 of dark: ADVANCE/.test(demo.stdout()), {
      what: 'act 1 to reach the canary phase',
      timeoutMs: 60_000,
      detail: () => `stdout:\n${demo.stdout()}\nstderr:\n${demo.stderr()}`,
    });
    const out = demo.stdout();
    const ports = announcedPorts(out);
    expect(ports.length).toBeGreaterThanOrEqual(5);
    expect(await openPorts(ports)).not.toEqual([]);
    demo.kill('SIGINT');
    const exit = await demo.exited;
    expect(exit, demo.stderr()).toEqual({ code: 130, signal: null });
    expect(demo.stderr()).toContain('interrupted: stopping everything the demo started');
    expect(await openPorts(ports)).toEqual([]);
    expect(existsSync(tempDir(out))).toBe(false);
    // No summary line after an interruption.
    expect(demo.stdout()).not.toMatch(/^\{"demo"/m);
  }, 120_000);
});

/**
 * `rollgate run` as a child process, as an operator starts it:
 * `node dist/main.js run PLAN --state-dir DIR --listen 127.0.0.1:0`. Its log (pino JSON lines
 * on stderr) is kept and parsed; the address of its /metrics is read from the log line that
 * announces it. `stop()` sends SIGTERM and waits for the clean stop (SIGKILL after a grace).
 *
 * Every child is tracked; an `exit` hook SIGKILLs any still running, so neither a failing test
 * nor a Ctrl-C'd demo leaves a controller behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSpan } from '../support/human-time.js';

/** The built CLI (from src/demo under vitest as from dist/demo): run `npm run build` first. */
export const ROLLGATE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

export interface ControllerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ControllerProcess {
  readonly pid: number;
  /** Resolves with the /metrics base URL (http://127.0.0.1:PORT) once it is logged. */
  url(timeoutMs?: number): Promise<string>;
  /** The log lines so far, parsed (lines that are not JSON are kept as `{msg: line}`). */
  logLines(): Array<Record<string, unknown>>;
  /** Raw stderr so far. */
  stderr(): string;
  /** Null while running. */
  exit(): ControllerExit | null;
  exited: Promise<ControllerExit>;
  /** SIGTERM, SIGKILL after `graceMs` (default 10 s); resolves with how it exited. */
  stop(graceMs?: number): Promise<ControllerExit>;
}

const children = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}

export interface StartControllerOptions {
  plans: string[];
  stateDir: string;
  /** Default `127.0.0.1:0`. */
  listen?: string;
  logLevel?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function startController(opts: StartControllerOptions): ControllerProcess {
  hookExit();
  const args = [ROLLGATE_MAIN, 'run', ...opts.plans, '--state-dir', opts.stateDir, '--listen', opts.listen ?? '127.0.0.1:0', '--log-format', 'json'];
  if (opts.logLevel) args.push('--log-level', opts.logLevel);
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  const child = spawn(process.execPath, args, { cwd: opts.cwd ?? process.cwd(), env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${ROLLGATE_MAIN}`);
  children.add(child);
  let err = '';
  let partial = '';
  const lines: Array<Record<string, unknown>> = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  let exit: ControllerExit | null = null;
  const exited = new Promise<ControllerExit>((resolve) => {
    child.once('close', (code, signal) => {
      exit = { code, signal };
      children.delete(child);
      resolve(exit);
    });
    child.once('error', (e) => {
      err += `\n${e.message}`;
      exit = { code: null, signal: null };
      children.delete(child);
      resolve(exit);
    });
  });

  const url = async (timeoutMs = 15_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((l) => typeof l.url === 'string' && /^http:\/\//.test(l.url));
      if (found) return found.url as string;
      if (exit) throw new Error(`rollgate run exited (${JSON.stringify(exit)}) before serving /metrics:\n${err.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`rollgate run did not log its /metrics address within ${formatSpan(timeoutMs)}:\n${err.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  let stopping: Promise<ControllerExit> | null = null;
  return {
    pid: child.pid,
    url,
    logLines: () => lines,
    stderr: () => err,
    exit: () => exit,
    exited,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (exit) return exit;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const e = await exited;
        clearTimeout(timer);
        return e;
      })();
      return stopping;
    },
  };
}

/**
 * Supervised local server processes for the devtools (local-nginx.ts, local-haproxy.ts):
 * the server runs in the foreground under a tiny `sh` watchdog in its own process group that
 * kills it within half a second once the Node process is gone (even after SIGKILL), and an
 * `exit` hook SIGKILLs every group still running and removes its temp dir. Callers still stop
 * their servers in afterAll/afterEach; this is the safety net.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/** Runs "$@" and kills it when the parent pid ($1) is gone or on SIGTERM. */
const WATCHDOG = `
parent=$1; shift
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait "$child"; exit 143' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5 & wait $!; done
kill -TERM "$child" 2>/dev/null
wait "$child"
`;

export interface SupervisedProcess {
  /** Resolves when the watchdog (and so the server) has exited. */
  exited: Promise<void>;
  /** Whether it has exited. */
  gone(): boolean;
  /** The server's stdout+stderr so far. */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

interface Tracked {
  child: ChildProcess;
  dirs: Set<string>;
}

const running = new Set<Tracked>();
/** Temp dirs removed at exit even when their servers were already stopped. */
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of running) killGroup(t.child, 'SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Registers a temp dir to remove at process exit (unregister once removed). */
export function trackTempDir(dir: string): () => void {
  installExitHook();
  tempDirs.add(dir);
  return () => tempDirs.delete(dir);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the group created with detached: true
  } catch {
    // already gone
  }
}

/** Starts `bin args...` in the foreground under the watchdog; output goes to `logFile`. */
export function spawnSupervised(name: string, bin: string, args: string[], logFile: string): SupervisedProcess {
  installExitHook();
  const logFd = openSync(logFile, 'a');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, `rollgate-${name}`, String(process.pid), bin, ...args], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const tracked: Tracked = { child, dirs: new Set() };
  running.add(tracked);
  let isGone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      isGone = true;
      running.delete(tracked);
      resolve();
    }),
  );
  let stopping: Promise<void> | undefined;
  return {
    exited,
    gone: () => isGone,
    output: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); // leftovers of the group, if any
        } catch {
          // none
        }
      })();
      return stopping;
    },
  };
}

export function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A server a test or demo started on a free loopback port (nginx, HAProxy). */
export interface LocalServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  /** The server's output so far (for failure messages). */
  log(): string;
  /** Stops the process, keeping dir and port for startProcess(). */
  stopProcess(): Promise<void>;
  /** Starts the process again after stopProcess(). */
  startProcess(): Promise<void>;
  /** Stops the process and removes the dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The stop/start handle of a local server: `start` launches the process (and sets what
 * `proc()` returns); stop() stops it for good and removes its dir.
 */
export function localServer(
  name: string,
  ctx: { port: number; dir: string; log: () => string; untrack: () => void },
  start: () => Promise<void>,
  proc: () => SupervisedProcess | undefined,
): LocalServer {
  let stopped = false;
  return {
    url: `http://127.0.0.1:${ctx.port}`,
    port: ctx.port,
    dir: ctx.dir,
    log: ctx.log,
    stopProcess: async () => {
      await proc()?.stop();
    },
    startProcess: async () => {
      if (stopped) throw new Error(`${name} was stopped for good (stop()); start a new one`);
      const p = proc();
      if (p && !p.gone()) return;
      await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await proc()?.stop();
      await rm(ctx.dir, { recursive: true, force: true });
      ctx.untrack();
    },
  };
}

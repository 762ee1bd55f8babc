/**
 * A real local HAProxy (Debian's /usr/sbin/haproxy, 2.6) on a free 127.0.0.1 port with a
 * generated main config and an admin runtime-API socket, for the router tests, the bench and
 * the live demo.
 *
 *   import { startHaproxy } from '../../src/devtools/local-haproxy.js';
 *   import { startBackends } from '../../src/devtools/test-backends.js';
 *
 *   const b = await startBackends(['stable', 'canary']);
 *   const haproxy = await startHaproxy({
 *     config: ({ port }) => `
 *   frontend web
 *     bind 127.0.0.1:${port}
 *     default_backend app
 *   backend app
 *     balance roundrobin
 *     server stable ${b.stable.address} weight 256
 *     server canary ${b.canary.address} weight 0`,
 *   });
 *   // haproxy.url = http://127.0.0.1:PORT; haproxy.socket = the runtime API (unix socket path,
 *   // `level admin`), i.e. the haproxy router's `socket`.
 *   await haproxy.stop();
 *
 * What it does:
 * 1. Makes a temp dir and writes haproxy.cfg: `global` with `stats socket DIR/admin.sock mode
 *    600 level admin` (and with `tcpSocket`, one on 127.0.0.1:PORT), `defaults` (mode http, short timeouts), then the caller's text.
 * 2. Starts `haproxy -db -f haproxy.cfg` (foreground) on a free port (retrying with another port
 *    if the bind races) and waits until both the port and the socket accept connections.
 * 3. `stop()` sends SIGTERM, SIGKILL after 5 s, and removes the dir. Idempotent.
 *    `stopProcess()`/`startProcess()` stop and start HAProxy again with the same config, port
 *    and socket path (the runtime weights reset to the config's, as after any restart).
 *
 * No process can leak: HAProxy runs under a watchdog in its own process group that kills it
 * once the test process is gone, and an `exit` hook kills every group still running (see
 * local-process.ts). Still call `stop()` in afterAll.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { accepts } from './local-nginx.js';
import { localServer, sleep, spawnSupervised, tail, trackTempDir, type LocalServer, type SupervisedProcess } from './local-process.js';

export const HAPROXY_BIN = process.env.ROLLGATE_HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface HaproxyContext {
  /** The 127.0.0.1 port chosen for this instance; bind the frontend to it. */
  port: number;
  /** The instance's temp dir. */
  dir: string;
  /** The runtime API socket path (already declared in `global`). */
  socket: string;
}

export interface StartHaproxyOptions {
  /** Frontends and backends (everything after `global` and `defaults`). */
  config: (ctx: HaproxyContext) => string;
  /** Also open the runtime API on 127.0.0.1:<free port> (`RunningHaproxy.tcpSocket`). */
  tcpSocket?: boolean;
  /** Give up waiting after this long. Default 10 s. */
  startTimeoutMs?: number;
}

export interface RunningHaproxy extends LocalServer {
  /** The runtime API unix socket path (level admin). */
  socket: string;
  /** With `tcpSocket`: the runtime API as 127.0.0.1:PORT (level admin). */
  tcpSocket?: string;
  configFile: string;
}

class BindError extends Error {}

export async function startHaproxy(opts: StartHaproxyOptions): Promise<RunningHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-haproxy-'));
  const untrack = trackTempDir(dir);
  try {
    const socket = join(dir, 'admin.sock');
    const configFile = join(dir, 'haproxy.cfg');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const tcpSocket = opts.tcpSocket ? `127.0.0.1:${await freePort()}` : undefined;
      await writeFile(configFile, mainConfig(opts, { port, dir, socket }, tcpSocket));
      try {
        return await launch(opts, { port, dir, socket }, configFile, untrack, tcpSocket);
      } catch (err) {
        if (attempt < 3 && err instanceof BindError) continue;
        throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    untrack();
    throw err;
  }
}

function mainConfig(opts: StartHaproxyOptions, ctx: HaproxyContext, tcpSocket?: string): string {
  return [
    'global',
    `  stats socket ${ctx.socket} mode 600 level admin`,
    ...(tcpSocket ? [`  stats socket ipv4@${tcpSocket} level admin`] : []),
    '  stats timeout 10s',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    opts.config(ctx),
    '',
  ].join('\n');
}

async function launch(
  opts: StartHaproxyOptions,
  ctx: HaproxyContext,
  configFile: string,
  untrack: () => void,
  tcpSocket?: string,
): Promise<RunningHaproxy> {
  const outLog = join(ctx.dir, 'output.log');
  const log = () => {
    try {
      return readFileSync(outLog, 'utf8');
    } catch {
      return '';
    }
  };
  let proc: SupervisedProcess | undefined;
  const start = async (): Promise<void> => {
    const p = spawnSupervised('haproxy', HAPROXY_BIN, ['-db', '-f', configFile], outLog);
    proc = p;
    const deadline = performance.now() + (opts.startTimeoutMs ?? 10_000);
    for (;;) {
      if (p.gone()) {
        const text = log();
        if (/address already in use|cannot bind socket/i.test(text)) throw new BindError(`port ${ctx.port} taken`);
        throw new Error(`haproxy exited before it was ready:\n${tail(text)}`);
      }
      if ((await accepts(ctx.port)) && (await socketAccepts(ctx.socket))) return;
      if (performance.now() > deadline) {
        await p.stop(0);
        throw new Error(`haproxy was not ready on 127.0.0.1:${ctx.port} within ${opts.startTimeoutMs ?? 10_000} ms:\n${tail(log())}`);
      }
      await sleep(10);
    }
  };
  await start();

  return {
    ...localServer('haproxy', { port: ctx.port, dir: ctx.dir, log, untrack }, start, () => proc),
    socket: ctx.socket,
    ...(tcpSocket ? { tcpSocket } : {}),
    configFile,
  };
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

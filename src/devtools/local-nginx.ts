/**
 * A real local nginx (Debian's /usr/sbin/nginx, 1.22) on a free 127.0.0.1 port with a
 * generated main config, for the router tests, the bench and the live demo.
 *
 *   import { startNginx } from '../../src/devtools/local-nginx.js';
 *   import { startBackends } from '../../src/devtools/test-backends.js';
 *
 *   const b = await startBackends(['stable', 'canary']);
 *   const nginx = await startNginx({
 *     files: { 'rollgate/checkout.conf': initialInclude },  // written before start
 *     http: ({ port, dir }) => `
 *       include ${dir}/rollgate/checkout.conf;
 *       server {
 *         listen 127.0.0.1:${port};
 *         location / { proxy_pass http://$rollgate_checkout_upstream; }
 *       }`,
 *   });
 *   // nginx.url = http://127.0.0.1:PORT; the nginx router's `test`/`reload` argv for this
 *   // instance: nginx.testArgv, nginx.reloadArgv (they carry -p/-c).
 *   await nginx.stop();
 *
 * What it does:
 * 1. Makes a temp dir (the nginx prefix), writes `files` into it, then nginx.conf: the main
 *    context (`load_module` of the Lua module with `lua: true`, foreground master, `worker_processes`, pid and error log in the dir, `user root`
 *    when running as root so workers can use the dir), `events {}`, and `http {}` with temp
 *    paths in the dir, access log off, and the caller's `http(...)` text inside.
 * 2. Starts `nginx -p DIR -c DIR/nginx.conf` on a free port (retrying with another port if the
 *    bind races) and waits until the port accepts connections.
 * 3. `stop()` sends SIGTERM (fast shutdown), SIGKILL after 5 s, and removes the dir. Idempotent.
 *    `stopProcess()`/`startProcess()` stop and start nginx again with the same dir and port.
 *
 * No process can leak: nginx runs under a watchdog in its own process group that kills it
 * once the test process is gone, and an `exit` hook kills every group still running (see
 * local-process.ts). Still call `stop()` in afterAll.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './ports.js';
import { nginxNames } from '../routers/nginx-config.js';
import { localServer, sleep, spawnSupervised, tail, trackTempDir, type LocalServer, type SupervisedProcess } from './local-process.js';

export const NGINX_BIN = process.env.ROLLGATE_NGINX_BIN ?? '/usr/sbin/nginx';

/**
 * Debian's dynamic modules for the nginx router's lua mode (packages libnginx-mod-http-lua and
 * libnginx-mod-http-ndk). Debian's own nginx.conf loads them through /etc/nginx/modules-enabled;
 * an nginx started with a generated config (`lua: true`) loads them explicitly, NDK first.
 */
export const NGINX_LUA_MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];

/** Whether the Lua module files are installed. */
export function nginxLuaInstalled(): boolean {
  return NGINX_LUA_MODULES.every((m) => existsSync(m));
}

export interface NginxContext {
  /** The 127.0.0.1 port chosen for this instance; listen on it. */
  port: number;
  /** The instance's temp dir (nginx prefix); files from `files` are in it. */
  dir: string;
}

export interface StartNginxOptions {
  /** The text inside `http { }`: servers, includes, upstreams. */
  http: (ctx: NginxContext) => string;
  /**
   * Files written into the dir before nginx starts (path relative to the dir → content), or a
   * function of the dir giving them (for content that names absolute paths in the dir).
   */
  files?: Record<string, string> | ((ctx: { dir: string }) => Record<string, string>);
  /** Load the Lua module (NGINX_LUA_MODULES), for the nginx router's lua mode. Default false. */
  lua?: boolean;
  /** Default 2, so tests see how a reload moves traffic between worker generations. */
  workerProcesses?: number;
  /** Give up waiting for the port after this long. Default 10 s. */
  startTimeoutMs?: number;
}

export interface RunningNginx extends LocalServer {
  /** DIR/nginx.conf */
  confFile: string;
  /** `nginx -p DIR -c CONF -t`: the nginx router's `test` argv for this instance. */
  testArgv: string[];
  /** `nginx -p DIR -c CONF -s reload`: the nginx router's `reload` argv for this instance. */
  reloadArgv: string[];
}

class BindError extends Error {}

export async function startNginx(opts: StartNginxOptions): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-nginx-'));
  const untrack = trackTempDir(dir);
  try {
    for (const sub of ['tmp', 'logs']) await mkdir(join(dir, sub), { recursive: true });
    const files = typeof opts.files === 'function' ? opts.files({ dir }) : (opts.files ?? {});
    for (const [name, content] of Object.entries(files)) {
      const file = join(dir, name);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    const confFile = join(dir, 'nginx.conf');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(confFile, mainConfig(opts, { port, dir }));
      try {
        return await launch(opts, dir, confFile, port, untrack);
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

function mainConfig(opts: StartNginxOptions, ctx: NginxContext): string {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const tmp = join(ctx.dir, 'tmp');
  return [
    ...(opts.lua ? NGINX_LUA_MODULES.map((m) => `load_module ${m};`) : []),
    'daemon off;',
    'master_process on;',
    `worker_processes ${opts.workerProcesses ?? 2};`,
    ...(asRoot ? ['user root root;'] : []),
    `pid ${join(ctx.dir, 'nginx.pid')};`,
    `error_log ${join(ctx.dir, 'logs', 'error.log')} notice;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${tmp}/body;`,
    `  proxy_temp_path ${tmp}/proxy;`,
    `  fastcgi_temp_path ${tmp}/fastcgi;`,
    `  uwsgi_temp_path ${tmp}/uwsgi;`,
    `  scgi_temp_path ${tmp}/scgi;`,
    opts.http(ctx),
    '}',
    '',
  ].join('\n');
}

async function launch(
  opts: StartNginxOptions,
  dir: string,
  confFile: string,
  port: number,
  untrack: () => void,
): Promise<RunningNginx> {
  const base = [NGINX_BIN, '-p', dir, '-c', confFile];
  const errorLog = join(dir, 'logs', 'error.log');
  const outLog = join(dir, 'logs', 'output.log');
  const log = () => readText(outLog) + readText(errorLog);
  let proc: SupervisedProcess | undefined;

  const start = async (): Promise<void> => {
    const p = spawnSupervised('nginx', NGINX_BIN, ['-p', dir, '-c', confFile], outLog);
    proc = p;
    const deadline = performance.now() + (opts.startTimeoutMs ?? 10_000);
    for (;;) {
      if (p.gone()) {
        const text = log();
        if (/address already in use/i.test(text)) throw new BindError(`port ${port} taken`);
        throw new Error(`nginx exited before it was ready:\n${tail(text)}`);
      }
      if (await accepts(port)) return;
      if (performance.now() > deadline) {
        await p.stop(0);
        throw new Error(`nginx did not accept connections on 127.0.0.1:${port} within ${opts.startTimeoutMs ?? 10_000} ms:\n${tail(log())}`);
      }
      await sleep(10);
    }
  };
  await start();

  return {
    ...localServer('nginx', { port, dir, log, untrack }, start, () => proc),
    confFile,
    testArgv: [...base, '-t'],
    reloadArgv: [...base, '-s', 'reload'],
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8'); // synchronous on purpose: used in failure messages
  } catch {
    return '';
  }
}

/** Whether 127.0.0.1:port accepts a TCP connection. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The server block a user adds next to the router's include (docs: nginx router). */
export function nginxSiteConfig(p: { port: number; include: string; rollout: string }): string {
  const n = nginxNames(p.rollout);
  return `
  include ${p.include};
  server {
    listen 127.0.0.1:${p.port};
    location / {
      mirror ${n.mirrorLocation};
      proxy_pass http://$${n.upstreamVar};
    }
    location = ${n.mirrorLocation} {
      internal;
      if ($${n.mirrorVar} = "") { return 204; }
      proxy_set_header X-Rollgate-Mirror 1;
      proxy_pass http://$${n.mirrorVar}$request_uri;
    }
  }`;
}

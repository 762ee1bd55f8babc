/**
 * The `nginx` router: owns one include file (`traffic.nginx.configFile`) and nothing else of
 * the nginx configuration. Two modes (docs/routers.md):
 *
 * - `lua` (needs nginx's Lua module): the file defines the upstreams, a shared dict holding the
 *   split, the per-request routing that reads it, and a control endpoint on the unix socket
 *   `<configFile>.sock` (nginx-lua-config.ts). `apply` writes the file and reloads nginx only
 *   when the file itself changes (first setup, other upstream addresses); a weight or mirror
 *   change is one PUT to the endpoint, which answers what nginx now routes. No reload, so no
 *   keep-alive connection is closed. `read()` asks the endpoint: after an nginx restart the
 *   shared dict is empty and nginx routes everything to stable, which is what read() reports
 *   (the engine's drift check then re-applies the journalled split).
 * - `reload` (plain nginx): the file holds the split in `split_clients` blocks
 *   (nginx-config.ts), and every change is written and reloaded.
 *
 * Without `mode`, the first apply tries lua and falls back to reload when `nginx -t` rejects
 * the lua file for lack of the module (or for a second http-level access_by_lua_block).
 *
 * Writing the file (both modes):
 *   1. writes it atomically (temp + rename);
 *   2. runs the `test` argv (`nginx -t`); on failure restores the previous content (or removes
 *      the file if there was none) and throws RouterError with the file and nginx's message;
 *   3. runs the `reload` argv (`nginx -s reload`); on failure restores the previous content;
 *   4. waits until nginx serves the new file: the file defines a tiny server on the unix socket
 *      `<configFile>.sock` that answers the file's generation; it returns once the new
 *      generation answers, nginx's 100 ms overlap of old and new workers has passed, and
 *      several fresh connections in a row get the new generation (see settle), bounded by
 *      `settleTimeoutMs`.
 *      On timeout the previous content is restored and reloaded, and apply throws.
 * Re-applying the split nginx already serves changes nothing (no reload). See docs/routers.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../support/log.js';
import { isErrno, writeFileAtomic } from '../support/fsutil.js';
import { nonEmpty } from '../support/zod-fields.js';
import { RouterError, type Split, type TrafficRouter } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';
import {
  IncludeParseError,
  checkAddresses,
  nginxNames,
  nginxShare,
  parseInclude,
  probeSocketFor,
  renderInclude,
  type NginxNames,
} from './nginx-config.js';
import {
  CONTROL_PATH,
  basisPoints,
  controlAnswerSchema,
  isLuaInclude,
  renderLuaInclude,
  splitOf,
  type ControlAnswer,
} from './nginx-lua-config.js';
import { formatSpan } from '../support/human-time.js';

/** `lua`: split in a shared dict, set without a reload; `reload`: split_clients, reloaded. */
export const NGINX_MODES = ['lua', 'reload'] as const;
export type NginxMode = (typeof NGINX_MODES)[number];

export interface NginxRouterConfig {
  /** The rollout name the names in the file derive from (`rollgate_<name>_...`). */
  rollout: string;
  configFile: string;
  stable: string[];
  canary: string[];
  /** lua or reload; absent: lua where nginx accepts it, else reload (decided on the first apply). */
  mode?: NginxMode;
  /** argv run after writing; default `nginx -s reload`. */
  reload: string[];
  /** argv run before reloading; default `nginx -t`. */
  test: string[];
  /** How long apply waits for nginx to serve the new file after the reload. Default 10 s. */
  settleTimeoutMs?: number;
  /** Timeout of a request to the lua-mode control endpoint. Default 2 s. */
  controlTimeoutMs?: number;
  /** Timeout of the test and reload commands. Default 30 s. */
  commandTimeoutMs?: number;
  log?: Logger;
}

/** What `nginx -t` says about a lua-mode include when nginx cannot run it (auto mode falls back to reload). */
const LUA_REJECTED = /unknown directive "(?:lua_shared_dict|access_by_lua_block|content_by_lua_block)"|"access_by_lua_block" directive is duplicate/;

/** nginx cannot run the lua-mode include (auto mode only). */
class LuaUnavailable extends Error {}

/** Fresh probe connections in a row that must see the new generation. */
const SETTLE_CONFIRMATIONS = 3;
/** nginx's 100 ms overlap of old and new workers after a reload, plus a margin. */
const OVERLAP_MS = 150;

export class NginxRouter implements TrafficRouter {
  readonly name = 'nginx';
  readonly target: string;
  readonly names: NginxNames;
  readonly probeSocket: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** The mode in use: the configured one, or the one the first apply found (auto). */
  private mode: NginxMode | null;

  constructor(private readonly config: NginxRouterConfig) {
    this.target = config.configFile;
    this.names = nginxNames(config.rollout);
    this.probeSocket = probeSocketFor(config.configFile);
    this.mode = config.mode ?? null;
    const bad = checkAddresses('stable', config.stable) ?? checkAddresses('canary', config.canary);
    if (bad) throw new RouterError(this.name, this.target, bad);
  }

  apply(split: Split): Promise<Split> {
    const run = this.queue.then(() => this.applyNow(split));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The mode apply uses: the configured one, the one found on an earlier apply, or null (not decided yet). */
  modeInUse(): NginxMode | null {
    return this.mode;
  }

  private async applyNow(split: Split): Promise<Split> {
    if (this.mode === 'reload') return this.applyReload(split);
    if (this.mode === 'lua') return this.applyLua(split);
    try {
      const effective = await this.applyLua(split);
      this.mode = 'lua';
      this.config.log?.info({ router: this.name, target: this.target }, 'nginx router: lua mode (splits are set without a reload)');
      return effective;
    } catch (err) {
      if (!(err instanceof LuaUnavailable)) throw err;
      this.mode = 'reload';
      this.config.log?.warn({ router: this.name, target: this.target, why: err.message }, 'nginx router: reload mode (nginx rejected the lua-mode include; every split change reloads nginx)');
      return this.applyReload(split);
    }
  }

  private async applyLua(want: Split): Promise<Split> {
    const rendered = renderLuaInclude({
      rollout: this.config.rollout,
      names: this.names,
      stable: this.config.stable,
      canary: this.config.canary,
      controlSocket: this.probeSocket,
    });
    const previous = await this.readText();
    let state = previous === rendered.text ? await this.control('GET').catch(() => null) : null;
    if (state?.generation !== rendered.generation) {
      await this.install(rendered.text, rendered.generation, previous, this.mode === null);
      state = null;
    }
    const same = state !== null && state.set && state.weight === basisPoints(want.weight) && state.mirror === basisPoints(want.mirror);
    if (same) return want;
    const answer = await this.control('PUT', want);
    if (!answer.set || answer.generation !== rendered.generation) {
      throw new RouterError(this.name, this.target, `nginx answered ${JSON.stringify(answer)} after setting weight ${want.weight}%, mirror ${want.mirror}% (generation ${rendered.generation})`);
    }
    const effective = splitOf(answer);
    this.config.log?.debug({ router: this.name, target: this.target, split: effective, mode: 'lua' }, 'nginx routes the new split');
    return effective;
  }

  /**
   * Writes the include, tests it, reloads nginx and waits until nginx serves it; restores the
   * previous content on any failure. With `luaProbe`, a test failure that says nginx has no Lua
   * module (or already has an http-level access_by_lua_block) throws LuaUnavailable.
   */
  private async install(text: string, generation: string, previous: string | null, luaProbe = false): Promise<number> {
    try {
      await mkdir(dirname(this.target), { recursive: true });
      await writeFileAtomic(this.target, text);
    } catch (err) {
      throw new RouterError(this.name, this.target, `cannot write: ${(err as Error).message}`, { cause: err });
    }
    const tested = await this.run('test', this.config.test);
    if (!tested.ok) {
      const restored = await this.restore(previous);
      if (luaProbe && LUA_REJECTED.test(tested.message)) throw new LuaUnavailable(tested.message);
      throw new RouterError(this.name, this.target, `nginx rejected the new file (${tested.argv}), ${restored}: ${tested.message}`);
    }
    const reloaded = await this.run('reload', this.config.reload);
    if (!reloaded.ok) {
      const restored = await this.restore(previous);
      throw new RouterError(this.name, this.target, `reload failed (${reloaded.argv}), ${restored}: ${reloaded.message}`);
    }
    const settled = await this.settle(generation);
    if (!settled.ok) {
      const restored = await this.restore(previous);
      const again = await this.run('reload', this.config.reload);
      throw new RouterError(
        this.name,
        this.target,
        `nginx did not serve the new file within ${formatSpan(this.settleTimeoutMs())} after the reload (probe ${this.probeSocket}: ${settled.last}); ${restored}${again.ok ? ' and reloaded' : `, but reloading it failed: ${again.message}`}`,
      );
    }
    return settled.ms;
  }

  /** GET or PUT the split on the control endpoint; the answer, validated. */
  private async control(method: 'GET' | 'PUT', split?: Split): Promise<ControlAnswer> {
    const path = split ? `${CONTROL_PATH}?weight=${basisPoints(split.weight)}&mirror=${basisPoints(split.mirror)}` : CONTROL_PATH;
    let res: { status: number; body: string };
    try {
      res = await socketRequest(this.probeSocket, method, path, this.config.controlTimeoutMs ?? 2_000);
    } catch (err) {
      throw new RouterError(this.name, this.target, `the control endpoint ${this.probeSocket} did not answer ${method} ${CONTROL_PATH}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    const answer = res.status === 200 ? controlAnswerSchema.safeParse(parsed) : null;
    if (!answer?.success) {
      throw new RouterError(this.name, this.target, `the control endpoint ${this.probeSocket} answered ${method} ${CONTROL_PATH} with HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`);
    }
    return answer.data;
  }

  private async applyReload(split: Split): Promise<Split> {
    const rendered = renderInclude({
      rollout: this.config.rollout,
      names: this.names,
      stable: this.config.stable,
      canary: this.config.canary,
      probeSocket: this.probeSocket,
      split,
    });
    const previous = await this.readText();
    if (previous === rendered.text && (await this.probe()) === rendered.generation) return rendered.effective;
    const settleMs = await this.install(rendered.text, rendered.generation, previous);
    this.config.log?.debug({ router: this.name, target: this.target, split: rendered.effective, generation: rendered.generation, settleMs: Math.round(settleMs), mode: 'reload' }, 'nginx serves the new split');
    return rendered.effective;
  }

  /**
   * What nginx routes now. A lua-mode file: asked from the control endpoint (an nginx that does
   * not run the file on disk, or does not answer, is a RouterError; an empty shared dict after
   * a restart routes everything to stable and reads 0/0). A reload-mode file: its split_clients
   * blocks. Null when the file does not exist.
   */
  async read(): Promise<Split | null> {
    const text = await this.readText();
    if (text === null) return null;
    if (isLuaInclude(text)) {
      const answer = await this.control('GET');
      const onDisk = /^# generation ([0-9a-f]{16})$/m.exec(text)?.[1];
      if (answer.generation !== onDisk) {
        throw new RouterError(this.name, this.target, `cannot read the split: nginx runs generation ${answer.generation}, the file on disk is generation ${onDisk ?? '(none)'} (not reloaded since it was written?)`);
      }
      return splitOf(answer);
    }
    try {
      return parseInclude(text, this.names).split;
    } catch (err) {
      if (err instanceof IncludeParseError) throw new RouterError(this.name, this.target, `cannot read the split: ${err.message}`);
      throw err;
    }
  }

  /** The generation nginx serves on the probe socket, or null when it does not answer. */
  probe(timeoutMs = 1_000): Promise<string | null> {
    return probeGeneration(this.probeSocket, timeoutMs).catch(() => null);
  }

  private settleTimeoutMs(): number {
    return this.config.settleTimeoutMs ?? 10_000;
  }

  /**
   * Waits until new connections reach only workers that run `generation`. On a reload the
   * nginx master starts the new workers, sleeps 100 ms ("allow new processes to start",
   * ngx_master_process_cycle), then tells the old workers to stop accepting: for those 100 ms
   * both generations accept. So: wait for the first answer from the new generation, then until
   * OVERLAP_MS after it, then for SETTLE_CONFIRMATIONS fresh connections in a row that all get
   * the new generation (an old answer starts the count again).
   */
  private async settle(generation: string): Promise<{ ok: boolean; ms: number; last: string }> {
    const started = performance.now();
    let firstNew: number | null = null;
    let streak = 0;
    let last = 'no answer yet';
    while (performance.now() - started < this.settleTimeoutMs()) {
      const probedAt = performance.now();
      let got: string | null;
      try {
        got = await probeGeneration(this.probeSocket, 1_000);
        last = got === generation ? `generation ${got}` : `still generation ${got}`;
      } catch (err) {
        got = null;
        last = (err as Error).message;
      }
      if (got === generation) firstNew ??= probedAt;
      const pastOverlap = firstNew !== null && probedAt >= firstNew + OVERLAP_MS;
      streak = got === generation ? (pastOverlap ? streak + 1 : 0) : 0;
      if (streak >= SETTLE_CONFIRMATIONS) return { ok: true, ms: performance.now() - started, last };
      if (!pastOverlap) await new Promise((r) => setTimeout(r, firstNew === null ? 5 : 10));
    }
    return { ok: false, ms: performance.now() - started, last };
  }

  private async readText(): Promise<string | null> {
    try {
      return await readFile(this.target, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw new RouterError(this.name, this.target, `cannot read: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Puts the previous content back; returns how that went, for the error message. */
  private async restore(previous: string | null): Promise<string> {
    try {
      if (previous === null) await unlink(this.target);
      else await writeFileAtomic(this.target, previous);
      return previous === null ? 'the new file removed (there was none before)' : 'previous content restored';
    } catch (err) {
      if (previous === null && isErrno(err, 'ENOENT')) return 'the new file removed (there was none before)';
      this.config.log?.error({ router: this.name, target: this.target, err: (err as Error).message }, 'cannot restore the previous include file');
      return `RESTORING THE PREVIOUS CONTENT FAILED: ${(err as Error).message}`;
    }
  }

  private run(what: 'test' | 'reload', argv: string[]): Promise<{ ok: boolean; argv: string; message: string }> {
    const shown = argv.join(' ');
    const [bin, ...args] = argv;
    return new Promise((done) => {
      if (!bin) return done({ ok: false, argv: shown, message: `the ${what} command is empty` });
      execFile(bin, args, { timeout: this.config.commandTimeoutMs ?? 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (!err) return done({ ok: true, argv: shown, message: '' });
        const output = `${stderr}${stdout}`.trim().split('\n').filter((l) => !/syntax is ok$|test failed$/.test(l)).slice(-5).join('; ');
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        const why = e.code === 'ENOENT' ? `${bin} not found` : e.killed ? 'timed out' : output || e.message;
        done({ ok: false, argv: shown, message: why });
      });
    });
  }
}

/** One request on a unix socket (fresh connection); resolves with status and body. */
export function socketRequest(socketPath: string, method: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath, path, method, agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${formatSpan(timeoutMs)}`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ENOENT' ? 'socket missing (nginx not running this file?)' : err.code === 'ECONNREFUSED' ? 'socket refused (nginx not running?)' : err.message)),
    );
    req.end();
  });
}

/** GET / on the probe socket (fresh connection); resolves with the body. */
export function probeGeneration(socketPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath, path: '/', method: 'GET', agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolvePromise(body.trim()) : reject(new Error(`probe answered HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`probe timed out after ${formatSpan(timeoutMs)}`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ENOENT' ? 'probe socket missing (nginx not running this file yet?)' : err.code === 'ECONNREFUSED' ? 'probe socket refused (nginx not running?)' : err.message)),
    );
    req.end();
  });
}

function list(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

const hostPorts = z.union([nonEmpty('host:port'), z.array(nonEmpty('host:port')).min(1)], {
  error: 'expected host:port or a list of host:port',
});

const config = z.strictObject({
  configFile: nonEmpty('a file path'),
  stable: hostPorts,
  canary: hostPorts,
  reload: z.array(z.string()).min(1).default(['nginx', '-s', 'reload']),
  test: z.array(z.string()).min(1).default(['nginx', '-t']),
  mode: z.enum(NGINX_MODES, { error: 'expected lua (split set without a reload; needs the nginx Lua module) or reload' }).optional(),
});

export const nginxRouter: RouterDescriptor<'nginx', typeof config> = {
  name: 'nginx',
  config,
  mirrors: true,
  needsKube: false,
  expressible: (split) => ({ weight: nginxShare(split.weight), mirror: nginxShare(split.mirror) }),
  create: (cfg, rollout, ctx) =>
    new NginxRouter({
      rollout: rollout.name,
      // Relative paths are relative to the controller's working directory.
      configFile: resolve(cfg.configFile),
      stable: list(cfg.stable),
      canary: list(cfg.canary),
      reload: cfg.reload,
      test: cfg.test,
      ...(cfg.mode ? { mode: cfg.mode } : {}),
      log: ctx.log,
    }),
};

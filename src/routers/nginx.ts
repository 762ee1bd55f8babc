/**
 * The `nginx` router: owns one include file (`traffic.nginx.configFile`) and nothing else of
 * the nginx configuration. `apply`:
 *   1. renders the file for the split (nginx-config.ts; shares rounded to 0.01%) and writes it
 *      atomically (temp + rename);
 *   2. runs the `test` argv (`nginx -t`); on failure restores the previous content (or removes
 *      the file if there was none) and throws RouterError with the file and nginx's message;
 *   3. runs the `reload` argv (`nginx -s reload`); on failure restores the previous content;
 *   4. waits until nginx serves the new file: the file defines a tiny server on the unix socket
 *      `<configFile>.sock` that answers the file's generation; apply returns once the new
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
import type { Plan } from '../plan/schema.js';
import type { Logger } from '../observe/log.js';
import { isErrno, writeFileAtomic } from '../journal/fsutil.js';
import { RouterError, type RouterAdapter, type RouterContext, type Split, type TrafficRouter } from './router.js';
import {
  IncludeParseError,
  checkAddresses,
  nginxNames,
  parseInclude,
  probeSocketFor,
  renderInclude,
  type NginxNames,
} from './nginx-config.js';

export interface NginxRouterConfig {
  /** The rollout name the names in the file derive from (`rollgate_<name>_...`). */
  rollout: string;
  configFile: string;
  stable: string[];
  canary: string[];
  /** argv run after writing; default `nginx -s reload`. */
  reload: string[];
  /** argv run before reloading; default `nginx -t`. */
  test: string[];
  /** How long apply waits for nginx to serve the new file after the reload. Default 10 s. */
  settleTimeoutMs?: number;
  /** Timeout of the test and reload commands. Default 30 s. */
  commandTimeoutMs?: number;
  log?: Logger;
}

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

  constructor(private readonly config: NginxRouterConfig) {
    this.target = config.configFile;
    this.names = nginxNames(config.rollout);
    this.probeSocket = probeSocketFor(config.configFile);
    const bad = checkAddresses('stable', config.stable) ?? checkAddresses('canary', config.canary);
    if (bad) throw new RouterError(this.name, this.target, bad);
  }

  apply(split: Split): Promise<Split> {
    const run = this.queue.then(() => this.applyNow(split));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(split: Split): Promise<Split> {
    for (const [what, v] of [['weight', split.weight], ['mirror', split.mirror]] as const) {
      if (!Number.isFinite(v) || v < 0 || v > 100) throw new RouterError(this.name, this.target, `${what} ${v} is not a percentage from 0 to 100`);
    }
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

    try {
      await mkdir(dirname(this.target), { recursive: true });
      await writeFileAtomic(this.target, rendered.text);
    } catch (err) {
      throw new RouterError(this.name, this.target, `cannot write: ${(err as Error).message}`, { cause: err });
    }
    const tested = await this.run('test', this.config.test);
    if (!tested.ok) {
      const restored = await this.restore(previous);
      throw new RouterError(this.name, this.target, `nginx rejected the new file (${tested.argv}), ${restored}: ${tested.message}`);
    }
    const reloaded = await this.run('reload', this.config.reload);
    if (!reloaded.ok) {
      const restored = await this.restore(previous);
      throw new RouterError(this.name, this.target, `reload failed (${reloaded.argv}), ${restored}: ${reloaded.message}`);
    }
    const settled = await this.settle(rendered.generation);
    if (!settled.ok) {
      const restored = await this.restore(previous);
      const again = await this.run('reload', this.config.reload);
      throw new RouterError(
        this.name,
        this.target,
        `nginx did not serve the new file within ${this.settleTimeoutMs()} ms after the reload (probe ${this.probeSocket}: ${settled.last}); ${restored}${again.ok ? ' and reloaded' : `, but reloading it failed: ${again.message}`}`,
      );
    }
    this.config.log?.info({ router: this.name, target: this.target, split: rendered.effective, generation: rendered.generation, settleMs: Math.round(settled.ms) }, 'nginx serves the new split');
    return rendered.effective;
  }

  async read(): Promise<Split | null> {
    const text = await this.readText();
    if (text === null) return null;
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
    req.on('timeout', () => req.destroy(new Error(`probe timed out after ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ENOENT' ? 'probe socket missing (nginx not running this file yet?)' : err.code === 'ECONNREFUSED' ? 'probe socket refused (nginx not running?)' : err.message)),
    );
    req.end();
  });
}

function list(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

export const nginxRouterAdapter: RouterAdapter = {
  canMirror: true,
  create(plan: Plan, ctx: RouterContext): TrafficRouter {
    const cfg = plan.spec.traffic.nginx;
    if (!cfg) throw new Error(`rollout ${plan.metadata.name}: traffic.router is nginx but the traffic.nginx block is missing`);
    return new NginxRouter({
      rollout: plan.metadata.name,
      // Relative paths are relative to the controller's working directory.
      configFile: resolve(cfg.configFile),
      stable: list(cfg.stable),
      canary: list(cfg.canary),
      reload: cfg.reload,
      test: cfg.test,
      log: ctx.log,
    });
  },
};

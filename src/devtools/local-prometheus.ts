/**
 * A real local Prometheus (Debian 2.42 at /usr/bin/prometheus) for the tests and the demos,
 * optionally pre-loaded with generated history (see openmetrics.ts) and/or scraping targets.
 *
 *   import { afterAll, beforeAll } from 'vitest';
 *   import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
 *   import { OpenMetricsHistory } from '../helpers/openmetrics.js';
 *
 *   let prom: RunningPrometheus;
 *   beforeAll(async () => {
 *     const h = new OpenMetricsHistory({ start: now - 86_400, end: now, step: 15 })
 *       .counter('http_requests_total', { track: 'canary' }, 10);
 *     prom = await startPrometheus({ openMetrics: h.text() });   // prom.url = http://127.0.0.1:PORT
 *   });
 *   afterAll(() => prom?.stop());
 *
 * What it does:
 * 1. Makes a temp dir; with `openMetrics`, runs `promtool tsdb create-blocks-from openmetrics`
 *    into its data dir. 2.42 has no --max-block-duration: histories become 2 h blocks, which
 *    Prometheus loads quickly (and compacts in the background); promtool is slow per block
 *    (~0.2 s, mostly idle), so the text is split by block and imported by 4 promtool processes
 *    at once (see splitByBlocks). Measured: 6 h of history ~0.5 s, a day ~1.5 s.
 * 2. Writes prometheus.yml (scrape targets, optional rule file) and starts
 *    `prometheus --storage.tsdb.retention.time=100y` (so old history is kept) on a free
 *    127.0.0.1 port, retrying with another port if the bind races; overlapping blocks need no
 *    flag since 2.39. Waits for `/-/ready` (about 0.1-0.3 s with a day of history).
 * 3. `stop()` sends SIGTERM, then SIGKILL after 5 s, and removes the temp dir. Idempotent.
 *
 * No process can leak: Prometheus runs under a tiny `sh` watchdog in its own process group
 * that kills it within half a second once the test process is gone (even after SIGKILL), and
 * an `exit` hook SIGKILLs every instance still running. Still call `stop()` in afterAll.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawnSupervised, tail, trackTempDir, type SupervisedProcess } from './local-process.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { splitByBlocks } from './openmetrics.js';

const execFileAsync = promisify(execFile);

export const PROMETHEUS_BIN = process.env.ROLLGATE_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.ROLLGATE_PROMTOOL_BIN ?? '/usr/bin/promtool';

export interface StartPrometheusOptions {
  /** OpenMetrics text (ending in `# EOF`) imported as TSDB blocks before start. */
  openMetrics?: string;
  /** host:port targets scraped as job `test` at `scrapeInterval`. */
  scrapeTargets?: string[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Content of a rule file (YAML `groups: [...]`), evaluated every `evaluationInterval`. */
  rules?: string;
  /** Default `1s`. */
  evaluationInterval?: string;
  /** More prometheus flags, e.g. `['--query.lookback-delta=1m']`. */
  extraArgs?: string[];
  /** Give up waiting for /-/ready after this long. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Basic auth on every endpoint (`--web.config.file` with `basic_auth_users`): `bcryptHash` is
   * the bcrypt hash of `password` (Prometheus checks it; the helper authenticates its readiness
   * probe with `username`/`password`).
   */
  basicAuth?: { username: string; password: string; bcryptHash: string };
  /** `--web.route-prefix` (e.g. `/prom`): every endpoint moves under it, and so does `url`. */
  routePrefix?: string;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT, plus the route prefix when one was set. */
  url: string;
  port: number;
  /** The TSDB directory (inside a temp dir removed by stop()). */
  dataDir: string;
  /** Milliseconds from spawn to /-/ready (block creation excluded). */
  startupMs: number;
  /** Milliseconds promtool took to write the blocks (0 without openMetrics). */
  importMs: number;
  /** Prometheus' own log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
  /**
   * Stops the process, keeping its data dir and port (a Prometheus outage): `term` is a clean
   * shutdown, `kill` a SIGKILL.
   */
  stopProcess(how?: 'term' | 'kill'): Promise<void>;
  /** Starts it again after stopProcess(), same port and data; resolves once /-/ready. */
  startProcess(): Promise<void>;
}

export async function startPrometheus(opts: StartPrometheusOptions = {}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-prom-'));
  const untrack = trackTempDir(dir);
  const dataDir = join(dir, 'data');
  try {
    const importMs = opts.openMetrics ? await importHistory(dir, dataDir, opts.openMetrics) : 0;
    const configFile = await writeConfig(dir, opts);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return await launch({ dir, dataDir, configFile, port, importMs, opts, untrack });
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

/** promtool processes run side by side; each with GOMAXPROCS=1, which makes it ~2x faster. */
const IMPORT_PARALLELISM = 4;

async function importHistory(dir: string, dataDir: string, text: string): Promise<number> {
  const started = performance.now();
  let parts: string[];
  try {
    parts = splitByBlocks(text, IMPORT_PARALLELISM);
  } catch (err) {
    throw new Error(`could not import the OpenMetrics history: ${(err as Error).message}`);
  }
  await Promise.all(
    parts.map(async (part, i) => {
      const file = join(dir, `history-${i}.om`);
      await writeFile(file, part);
      try {
        await execFileAsync(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, dataDir], {
          maxBuffer: 64 << 20,
          env: { ...process.env, GOMAXPROCS: '1' },
        });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`could not import the OpenMetrics history (promtool): ${e.stderr?.trim() || e.message}`);
      }
      await rm(file);
    }),
  );
  return performance.now() - started;
}

async function writeConfig(dir: string, opts: StartPrometheusOptions): Promise<string> {
  const lines = [
    'global:',
    `  scrape_interval: ${opts.scrapeInterval ?? '1s'}`,
    `  evaluation_interval: ${opts.evaluationInterval ?? '1s'}`,
  ];
  if (opts.rules) {
    await writeFile(join(dir, 'rules.yml'), opts.rules);
    lines.push('rule_files:', `  - ${JSON.stringify(join(dir, 'rules.yml'))}`);
  }
  lines.push('scrape_configs:');
  if (opts.scrapeTargets && opts.scrapeTargets.length > 0) {
    lines.push('  - job_name: test', '    static_configs:', `      - targets: ${JSON.stringify(opts.scrapeTargets)}`);
  } else {
    lines[lines.length - 1] = 'scrape_configs: []';
  }
  const file = join(dir, 'prometheus.yml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

class BindError extends Error {}

async function launch(p: {
  dir: string;
  dataDir: string;
  configFile: string;
  port: number;
  importMs: number;
  opts: StartPrometheusOptions;
  untrack: () => void;
}): Promise<RunningPrometheus> {
  const prefix = (p.opts.routePrefix ?? '').replace(/\/+$/, '');
  const web: string[] = [];
  if (prefix) web.push(`--web.route-prefix=${prefix}`);
  if (p.opts.basicAuth) {
    const file = join(p.dir, 'web.yml');
    await writeFile(file, `basic_auth_users:\n  ${JSON.stringify(p.opts.basicAuth.username)}: ${JSON.stringify(p.opts.basicAuth.bcryptHash)}\n`);
    web.push(`--web.config.file=${file}`);
  }
  const auth = p.opts.basicAuth ? `Basic ${Buffer.from(`${p.opts.basicAuth.username}:${p.opts.basicAuth.password}`).toString('base64')}` : undefined;
  const args = [
    ...web,
    `--config.file=${p.configFile}`,
    `--storage.tsdb.path=${p.dataDir}`,
    `--web.listen-address=127.0.0.1:${p.port}`,
    '--storage.tsdb.retention.time=100y',
    ...(p.opts.extraArgs ?? []),
  ];
  const url = `http://127.0.0.1:${p.port}${prefix}`;
  const logFile = join(p.dir, `prometheus-${p.port}.log`);
  const timeoutMs = p.opts.startTimeoutMs ?? 30_000;
  /** Spawns Prometheus and waits for /-/ready; the milliseconds it took. */
  const spawnReady = async (): Promise<number> => {
    const started = performance.now();
    proc = spawnSupervised('prometheus', PROMETHEUS_BIN, args, logFile);
    const deadline = started + timeoutMs;
    for (;;) {
      if (proc.gone()) {
        const text = proc.output();
        if (/address already in use/i.test(text)) throw new BindError(`port ${p.port} taken`);
        throw new Error(`prometheus exited before it was ready:\n${tail(text)}`);
      }
      if (await isReady(url, auth)) return performance.now() - started;
      if (performance.now() > deadline) {
        const text = proc.output();
        await proc.stop(0);
        throw new Error(`prometheus was not ready within ${timeoutMs} ms:\n${tail(text)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  let proc: SupervisedProcess;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc.stop();
    await rm(p.dir, { recursive: true, force: true });
    p.untrack();
  };
  const startupMs = await spawnReady();
  return {
    url,
    port: p.port,
    dataDir: p.dataDir,
    startupMs,
    importMs: p.importMs,
    log: () => proc.output(),
    stop,
    // SIGKILL right away, or SIGTERM (SIGKILL after 5 s).
    stopProcess: (how = 'term') => proc.stop(how === 'kill' ? 0 : 5_000),
    startProcess: async () => {
      if (stopped) throw new Error('prometheus was stopped for good (stop()); start a new one');
      if (!proc.gone()) return;
      await spawnReady();
    },
  };
}

async function isReady(url: string, authorization?: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000), ...(authorization ? { headers: { authorization } } : {}) });
    return res.ok;
  } catch {
    return false;
  }
}


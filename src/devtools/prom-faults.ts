/**
 * The Prometheus fault matrix: one `rollgate run` (the built CLI) with one rollout per fault,
 * each meeting its fault at its first checkpoint and in its guard (guard on), then the fault
 * ends and the rollout must recover. Used by `npm run harness:prom-faults`
 * (scripts/harness/prom-faults.mjs) and its CI variant (test/harness/prom-faults.test.ts).
 *
 * A real Prometheus produces every fault it can: down (stopped: connection refused), killed
 * (SIGKILL) and restarted mid-rollout, NaN, +Inf, empty result, several series, a matrix for a
 * vector, 400 (a query Prometheus rejects) and 422 (an execution error on real data). The
 * NaN/Inf/empty/several/422 cases read a gauge from a small exporter that real Prometheus
 * scrapes every second, so the fault ends when the data is fixed. A small fault-injecting HTTP
 * server in front of the real Prometheus gives only what a real Prometheus never answers:
 * hanging past the timeout, 503, 429 with Retry-After, HTML with 200, `status: error` with 200,
 * malformed JSON, `""` and `null` sample values.
 *
 * For each case the harness reports and checks: the records while the fault lasts (holds, or
 * an immediate pause for a bad query; never continue/advance/complete), the pause, the first
 * log line about it, that the split did not move (router file at the first phase's 10%), and
 * that the rollout completes once the fault ends (after `rollgate resume` where it paused; a
 * bad query is fixed in the plan first).
 */
import { listenOnLoopback, type Listening } from './listen.js';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, type RunningPrometheus } from './local-prometheus.js';
import { sleep } from './local-process.js';

export type FaultCase =
  | 'down'
  | 'killed-restarted'
  | 'hang'
  | 'http-503'
  | 'http-429'
  | 'html-200'
  | 'status-error'
  | 'malformed-json'
  | 'empty-string-value'
  | 'null-value'
  | 'nan'
  | 'inf'
  | 'empty'
  | 'several'
  | 'matrix'
  | 'bad-query-400'
  | 'exec-error-422';

export const ALL_CASES: FaultCase[] = [
  'down',
  'killed-restarted',
  'hang',
  'http-503',
  'http-429',
  'html-200',
  'status-error',
  'malformed-json',
  'empty-string-value',
  'null-value',
  'nan',
  'inf',
  'empty',
  'several',
  'matrix',
  'bad-query-400',
  'exec-error-422',
];

/** Who produces the fault. */
export const SOURCE: Record<FaultCase, 'real Prometheus' | 'fault server'> = {
  down: 'real Prometheus',
  'killed-restarted': 'real Prometheus',
  hang: 'fault server',
  'http-503': 'fault server',
  'http-429': 'fault server',
  'html-200': 'fault server',
  'status-error': 'fault server',
  'malformed-json': 'fault server',
  'empty-string-value': 'fault server',
  'null-value': 'fault server',
  nan: 'real Prometheus',
  inf: 'real Prometheus',
  empty: 'real Prometheus',
  several: 'real Prometheus',
  matrix: 'real Prometheus',
  'bad-query-400': 'real Prometheus',
  'exec-error-422': 'real Prometheus',
};

/** A bad query is a plan problem: it pauses at once, with no hold before. */
const PAUSES_AT_ONCE: ReadonlySet<FaultCase> = new Set(['bad-query-400', 'exec-error-422']);

export interface CaseReport {
  case: FaultCase;
  source: string;
  /** Records while the fault lasted, as `decision (kind): reason`. */
  duringFault: string[];
  holds: number;
  paused: boolean;
  /** The first warn/error log line of `run` about the rollout while the fault lasted. */
  logLine: string;
  /** The router's canary weight when the fault ended. */
  splitDuringFault: number | null;
  recovered: boolean;
  /** What went against the promise. */
  violations: string[];
}

export interface FaultMatrixReport {
  cases: CaseReport[];
  violations: string[];
  durationMs: number;
}

export interface FaultMatrixOptions {
  mainJs: string;
  cases?: FaultCase[];
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// the exporter real Prometheus scrapes, and the fault server


/** Series `harness_value{case=...,k=...}` with values set by the harness (text format). */
class Exporter {
  readonly series = new Map<string, Array<{ k: string; value: string }>>();
  listening!: Listening;
  async start(): Promise<void> {
    this.listening = await listenOnLoopback(
      createServer((_req, res) => {
        const lines = ['# TYPE harness_value gauge'];
        for (const [c, list] of this.series) for (const s of list) lines.push(`harness_value{case="${c}",k="${s.k}"} ${s.value}`);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
      }),
    );
  }
}

const body = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const vectorWith = (value: unknown) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, value] }] } });

/**
 * Serves `/<case>/api/v1/...`: the case's fault while it is on, else the real Prometheus'
 * answer (forwarded).
 */
class FaultServer {
  readonly on = new Set<FaultCase>();
  private readonly hanging = new Set<Socket>();
  listening!: Listening;
  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.listening = await listenOnLoopback(createServer((req, res) => void this.handle(req, res)));
  }

  end(c: FaultCase): void {
    this.on.delete(c);
    if (c === 'hang') for (const s of this.hanging) s.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const data = await body(req);
    const m = /^\/([a-z0-9-]+)(\/.*)$/.exec(req.url ?? '');
    const c = m?.[1] as FaultCase | undefined;
    if (c && this.on.has(c)) {
      const json = (status: number, text: string, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
      };
      switch (c) {
        case 'hang':
          this.hanging.add(req.socket);
          req.socket.once('close', () => this.hanging.delete(req.socket));
          return; // never answers
        case 'http-503':
          return json(503, JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'overloaded' }));
        case 'http-429':
          return json(429, JSON.stringify({ status: 'error', errorType: 'too_many_requests', error: 'slow down' }), { 'retry-after': '1' });
        case 'html-200':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in to continue</body></html>');
          return;
        case 'status-error':
          return json(200, JSON.stringify({ status: 'error', errorType: 'internal', error: 'something broke' }));
        case 'malformed-json':
          return json(200, '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[17');
        case 'empty-string-value':
          return json(200, vectorWith(''));
        case 'null-value':
          return json(200, vectorWith(null));
        default:
          break;
      }
    }
    try {
      const up = await fetch(this.upstream + (m?.[2] ?? req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers: { 'content-type': String(req.headers['content-type'] ?? 'application/x-www-form-urlencoded') },
        ...(req.method === 'POST' ? { body: data } : {}),
      });
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await up.arrayBuffer()));
    } catch (err) {
      res.writeHead(502).end(`fault server: ${(err as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// plans

const HEALTHY = 'sum(vector(0.001))';

/** The query of a case while the fault lasts, and the one a person fixes the plan with (if any). */
function queries(c: FaultCase): { query: string; fixed?: string } {
  const sel = `harness_value{case="${c}"}`;
  switch (c) {
    case 'nan':
    case 'inf':
    case 'empty':
      return { query: `sum(${sel})` };
    case 'several':
      return { query: sel }; // not aggregated: two series while the fault lasts, one after
    case 'matrix':
      return { query: `${sel}[1m]`, fixed: `sum(${sel})` };
    case 'bad-query-400':
      // Parses as PromQL, but Prometheus rejects it: sum() of a range vector (HTTP 400).
      return { query: `sum(${sel}[1m])`, fixed: `sum(${sel})` };
    case 'exec-error-422':
      // Two series made identical by dropping `k`: "vector cannot contain metrics with the same labelset" (HTTP 422).
      return { query: `sum(label_replace(${sel}, "k", "", "k", ".*"))` };
    default:
      return { query: HEALTHY };
  }
}

function planText(c: FaultCase, address: string, routerFile: string, query: string): string {
  // killed-restarted must ride the outage out on holds: a restart under load can take a while.
  const limit = c === 'killed-restarted' ? 40 : 2;
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata:
  name: ${c}
spec:
  revision: "1"
  prometheus: { address: "${address}", timeout: 1s }
  traffic: { router: file, file: { path: ${routerFile} } }
  metrics:
    - name: error-rate
      query: '${query}'
      max: 0.01
      critical: true
  guard: { interval: 1s }
  analysis: { retryInterval: 1s, inconclusiveLimit: ${limit} }
  phases:
    - { name: canary, weight: 10, checkpoints: [1s, 2s] }
    - { name: full, weight: 100, checkpoints: [1s] }
`;
}

// ---------------------------------------------------------------------------------------------
// the run

interface Rec {
  seq?: number;
  kind?: string;
  decision?: string;
  reason?: string;
}

function records(file: string): Rec[] {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.pop();
    return lines.map((l) => JSON.parse(l) as Rec).filter((e) => e.seq !== undefined);
  } catch {
    return [];
  }
}

function canary(file: string): number | null {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { canary: number }).canary;
  } catch {
    return null;
  }
}

async function waitUntil<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

function cli(mainJs: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const WAIT_MS = 180_000;

export async function faultMatrix(opts: FaultMatrixOptions): Promise<FaultMatrixReport> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const cases = opts.cases ?? ALL_CASES;
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-prom-faults-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const exporter = new Exporter();
    await exporter.start();
    stops.push(() => exporter.listening.close());
    const target = exporter.listening.url.replace('http://', '');
    const prom = await startPrometheus({ scrapeTargets: [target] });
    stops.push(() => prom.stop());
    const faults = new FaultServer(prom.url);
    await faults.start();
    stops.push(() => faults.listening.close());
    const own: Partial<Record<FaultCase, RunningPrometheus>> = {};
    for (const c of ['down', 'killed-restarted'] as const) {
      if (!cases.includes(c)) continue;
      own[c] = await startPrometheus();
      stops.push(() => own[c]!.stop());
    }

    let seriesSeen = 0;
    const poll = setInterval(() => {
      void fetch(`${prom.url}/api/v1/query?query=count(harness_value)`)
        .then((r) => r.json() as Promise<{ data?: { result?: Array<{ value: [number, string] }> } }>)
        .then((b) => (seriesSeen = Number(b.data?.result?.[0]?.value[1] ?? 0)))
        .catch(() => undefined);
    }, 200);
    stops.push(async () => clearInterval(poll));
    // Faults on from the start: the first checkpoint and the guard meet them.
    exporter.series.set('nan', [{ k: 'a', value: 'NaN' }]);
    exporter.series.set('inf', [{ k: 'a', value: '+Inf' }]);
    exporter.series.set('several', [
      { k: 'a', value: '0.001' },
      { k: 'b', value: '0.001' },
    ]);
    exporter.series.set('matrix', [{ k: 'a', value: '0.001' }]);
    exporter.series.set('bad-query-400', [{ k: 'a', value: '0.001' }]);
    exporter.series.set('exec-error-422', [
      { k: 'a', value: '0.001' },
      { k: 'b', value: '0.001' },
    ]);
    // 'empty': no series at all until the fault ends.
    // The data faults are on only once Prometheus has scraped them: wait for every series.
    const want = [...exporter.series.values()].reduce((n, list) => n + list.length, 0);
    const scraped = await waitUntil(() => (seriesSeen >= want ? true : undefined), 60_000);
    if (!scraped) throw new Error(`Prometheus did not scrape the exporter's ${want} series within 60 s`);
    for (const c of cases) if (SOURCE[c] === 'fault server') faults.on.add(c);
    if (own.down) await own.down.stopProcess('term');

    const plans = join(dir, 'plans');
    const stateDir = join(dir, 'state');
    mkdirSync(plans);
    const planFile = (c: FaultCase) => join(plans, `${c}.yaml`);
    const routerFile = (c: FaultCase) => join(dir, `${c}-split.json`);
    const journal = (c: FaultCase) => join(stateDir, 'journal', 'default', `${c}.jsonl`);
    const addressOf = (c: FaultCase) => own[c as 'down']?.url ?? (SOURCE[c] === 'fault server' ? `${faults.listening.url}/${c}` : prom.url);
    for (const c of cases) writeFileSync(planFile(c), planText(c, addressOf(c), routerFile(c), queries(c).query));

    const run = spawn(process.execPath, [opts.mainJs, 'run', plans, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    run.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const runExit = new Promise<void>((resolve) => run.once('close', () => resolve()));
    stops.push(async () => {
      if (run.exitCode === null && run.signalCode === null) {
        run.kill('SIGTERM');
        await Promise.race([runExit, sleep(20_000)]);
        run.kill('SIGKILL');
      }
    });
    log(`rollgate run: ${cases.length} rollouts, one per fault`);

    let cliQueue: Promise<unknown> = Promise.resolve();
    const one = async (c: FaultCase): Promise<CaseReport> => {
      const violations: string[] = [];
      const report: CaseReport = { case: c, source: SOURCE[c], duringFault: [], holds: 0, paused: false, logLine: '', splitDuringFault: null, recovered: false, violations };
      const recs = () => records(journal(c));
      if (c === 'killed-restarted') {
        // Mid-rollout: after its first checkpoint passed, SIGKILL Prometheus; restart it after a hold.
        const passed = await waitUntil(() => recs().find((r) => r.decision === 'continue'), WAIT_MS);
        if (!passed) violations.push('never passed its first checkpoint with Prometheus up');
        await own[c]!.stopProcess('kill');
      }
      const from = recs().length;
      const stop = await waitUntil(() => {
        const list = recs().slice(from);
        if (c === 'killed-restarted') return list.find((r) => r.decision === 'hold');
        return list.find((r) => r.decision === 'pause' || r.decision === 'advance' || r.decision === 'continue' || r.decision === 'complete' || r.decision === 'rollback');
      }, WAIT_MS);
      const during = recs().slice(from, stop ? recs().findIndex((r) => r.seq === stop.seq) + 1 : undefined);
      report.duringFault = during.map((r) => `${r.decision} (${r.kind}): ${r.reason ?? ''}`);
      report.holds = during.filter((r) => r.decision === 'hold').length;
      report.paused = during.some((r) => r.decision === 'pause');
      report.splitDuringFault = canary(routerFile(c));
      // The first warning or error about it: the provider's (naming the address) or the rollout's.
      const address = addressOf(c);
      // (The journal record comes first, its log line right after: wait for it.)
      // The provider's lines name only the address: use them where the case has its own.
      const ownAddress = address !== prom.url;
      const warned = () => stderr.split('\n').find((l) => (l.includes(`"default/${c}"`) || (ownAddress && l.includes(`"address":"${address}"`))) && /"level":"(warn|error|fatal)"/.test(l));
      report.logLine = (await waitUntil(warned, 30_000)) ?? '';
      if (!stop) violations.push(`no ${c === 'killed-restarted' ? 'hold' : 'pause'} within ${WAIT_MS / 1000} s of the fault`);
      const advanced = during.filter((r) => ['continue', 'advance', 'complete', 'rollback'].includes(r.decision ?? ''));
      if (advanced.length > 0) violations.push(`moved on evidence it did not have: ${advanced.map((r) => `#${r.seq} ${r.decision}: ${r.reason}`).join('; ')}`);
      if (report.splitDuringFault !== 10) violations.push(`split during the fault: canary ${report.splitDuringFault}, expected 10`);
      if (!report.logLine) violations.push('no warn/error log line about it');
      if (PAUSES_AT_ONCE.has(c) && (report.holds > 0 || !report.paused)) violations.push(`a bad query must pause at once (holds: ${report.holds}, paused: ${report.paused})`);
      if (!PAUSES_AT_ONCE.has(c) && c !== 'killed-restarted' && (report.holds === 0 || !report.paused)) violations.push(`expected holds then a pause (holds: ${report.holds}, paused: ${report.paused})`);

      // --- the fault ends
      switch (c) {
        case 'down':
        case 'killed-restarted':
          await own[c]!.startProcess();
          break;
        case 'nan':
        case 'inf':
        case 'empty':
          exporter.series.set(c, [{ k: 'a', value: '0.001' }]);
          break;
        case 'several':
        case 'exec-error-422':
          exporter.series.set(c, [{ k: 'a', value: '0.001' }]);
          break;
        case 'matrix':
        case 'bad-query-400': {
          const n = recs().length;
          writeFileSync(planFile(c), planText(c, addressOf(c), routerFile(c), queries(c).fixed!));
          const updated = await waitUntil(() => recs().slice(n).find((r) => r.decision === 'plan-updated'), WAIT_MS);
          if (!updated) violations.push('the fixed plan was not taken (no plan-updated record)');
          break;
        }
        default:
          faults.end(c);
      }
      if (report.paused) {
        // Data scraped again before the person resumes (the exporter is scraped every second).
        if (['nan', 'inf', 'empty', 'several', 'exec-error-422'].includes(c)) await sleep(2_500);
        // One CLI at a time: 15 Node start-ups at once starve a small machine.
        const resumed = cliQueue.then(() => cli(opts.mainJs, ['resume', c, '--state-dir', stateDir, '--reason', 'fault over']));
        cliQueue = resumed;
        const r = await resumed;
        if (r.code !== 0) violations.push(`resume refused (exit ${r.code}): ${r.out.trim().slice(-500)}`);
      }
      const done = await waitUntil(() => recs().find((r) => r.decision === 'complete'), WAIT_MS);
      report.recovered = done !== undefined && canary(routerFile(c)) === 100;
      if (!report.recovered) violations.push(`did not complete after the fault ended: last records ${recs().slice(-3).map((r) => `${r.decision}: ${r.reason}`).join(' | ')}`);
      log(`${c}: ${report.holds} holds, ${report.paused ? 'paused' : 'no pause'}, ${report.recovered ? 'recovered' : 'NOT recovered'}, ${violations.length} violations`);
      return report;
    };
    const reports = await Promise.all(cases.map((c) => one(c)));
    return { cases: reports, violations: reports.flatMap((r) => r.violations.map((v) => `${r.case}: ${v}`)), durationMs: Date.now() - started };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

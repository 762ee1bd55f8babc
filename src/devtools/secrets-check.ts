/**
 * The secrets check: rollouts whose Prometheus needs a bearer token (from a file) plus a secret
 * header, or basic auth (password from a file, checked by a real Prometheus started with
 * `--web.config.file` and a bcrypt hash), and a webhook whose URL carries a token in its path
 * and query. In front of each Prometheus sits a small proxy that, for its first requests,
 * answers errors whose texts echo the request headers back (500, an HTML 200, 401), as broken
 * proxies do; the webhook receiver fails its first post echoing its URL. Everything a user or
 * an operator can see is collected — `run`'s stdout/stderr (JSON logs, and the same lines in
 * the pretty format), the journals, `status`, `history`, `report` (HTML and JSON, ranges
 * answered and refused), the dashboard's pages, JSON and event stream, `simulate` (text and JSON, against a
 * healthy and an echoing proxy; its logs in the pretty format at debug), `validate`,
 * `plan`, `/metrics`, the webhook bodies — and searched for every secret, also as
 * base64(user:password) and URL-encoded. Used by `npm run harness:secrets`
 * (scripts/harness/secrets.mjs) and its CI variant (test/harness/secrets.test.ts).
 */
import { listenOnLoopback, type Listening } from './listen.js';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prettyLines } from '../support/log-pretty.js';
import { startPrometheus, type RunningPrometheus } from './local-prometheus.js';
import { sleep } from './local-process.js';

export interface SecretsCheckOptions {
  mainJs: string;
  log?: (line: string) => void;
}

export interface Leak {
  secret: string;
  output: string;
  /** The text around the leak, with the secret masked. */
  context: string;
}

export interface SecretsCheckReport {
  /** Output name → its size in bytes (what was searched). */
  outputs: Record<string, number>;
  secrets: string[];
  leaks: Leak[];
  /** Answers of the proxies that echoed request headers (with the secrets in them). */
  echoedErrors: number;
  webhookPosts: number;
  /** How each rollout ended (its last decision). */
  ended: Record<string, string>;
  /** Records whose reason tells of a Prometheus error (the echoes reached the engine). */
  errorRecords: number;
}

// The secrets. Distinct, long and unlikely anywhere else, so any occurrence is a leak.
const TOKEN = 'tok-4f9d2c71e8a0b3356d1f';
const HEADER_SECRET = 'org-hdr-8c1e55a9f0d27b64';
const USERNAME = 'harness-user';
const PASSWORD = 'harness-Pa55w0rd-7d1e';
/** bcrypt of PASSWORD (cost 4: the check needs no strength, only a hash Prometheus accepts). */
const PASSWORD_BCRYPT = '$2b$04$GYikiaFULDoWUlF.9XtcduimzbhT5gE3OSH9mtZdEmBJJKjAjr2Re';
const HOOK_PATH_TOKEN = 'hookpath-T9x2b7Qe5r1L0p';
const HOOK_QUERY_TOKEN = 'hookq-Zk3m8Wv4n6Yc2';

export function secretForms(): Record<string, string> {
  const basic = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
  return {
    'bearer token': TOKEN,
    'secret header': HEADER_SECRET,
    password: PASSWORD,
    'base64(user:password)': basic,
    'base64(user:password), URL-encoded': encodeURIComponent(basic),
    'webhook path token': HOOK_PATH_TOKEN,
    'webhook query token': HOOK_QUERY_TOKEN,
  };
}

/** Every occurrence of every secret in every output. */
export function findLeaks(outputs: Record<string, string>, secrets: Record<string, string>): Leak[] {
  const leaks: Leak[] = [];
  for (const [output, text] of Object.entries(outputs)) {
    for (const [secret, value] of Object.entries(secrets)) {
      for (let i = text.indexOf(value); i >= 0; i = text.indexOf(value, i + value.length)) {
        const around = text.slice(Math.max(0, i - 80), i + value.length + 80).split(value).join(`<${secret}>`);
        leaks.push({ secret, output, context: around.replace(/\s+/g, ' ') });
      }
    }
  }
  return leaks;
}

// ---------------------------------------------------------------------------------------------
// servers


function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const headerText = (req: IncomingMessage) =>
  Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
    .join('; ');

/**
 * A proxy in front of a real Prometheus. Its first `echoes` answers are errors quoting the
 * request's headers (500 JSON, 200 HTML, 401 JSON, in turn); after that it forwards. With
 * `require`, a request whose headers differ gets a 401 quoting them.
 */
class EchoProxy {
  echoed = 0;
  private remaining: number;
  private listening: Listening | undefined;

  constructor(
    private readonly upstream: string,
    echoes: number,
    private readonly require: Record<string, string> = {},
  ) {
    this.remaining = echoes;
  }

  get url(): string {
    return this.listening!.url;
  }

  /** Echo errors for the next `n` requests. */
  echoNext(n: number): void {
    this.remaining = n;
  }

  async start(): Promise<void> {
    this.listening = await listenOnLoopback(createServer((req, res) => void this.handle(req, res)));
  }

  stop(): Promise<void> {
    return this.listening?.close() ?? Promise.resolve();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const data = await body(req);
    const echo = headerText(req);
    for (const [k, v] of Object.entries(this.require)) {
      if (req.headers[k.toLowerCase()] !== v) {
        this.echoed++;
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'unauthorized', error: `bad credentials; you sent ${echo}` }));
        return;
      }
    }
    if (this.remaining > 0) {
      const kind = this.remaining-- % 3;
      this.echoed++;
      if (kind === 0) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'internal', error: `upstream failed for request with headers ${echo}` }));
      else if (kind === 1) res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>Gateway error</h1><pre>${echo}</pre></body></html>`);
      else res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'unauthorized', error: `token rejected: ${echo}` }));
      return;
    }
    try {
      const up = await fetch(this.upstream + (req.url ?? '/'), {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['authorization', 'content-type', 'accept'].includes(k)).map(([k, v]) => [k, String(v)])),
        ...(req.method === 'POST' ? { body: data } : {}),
      });
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await up.arrayBuffer()));
    } catch (err) {
      res.writeHead(502).end(`proxy: ${(err as Error).message}`);
    }
  }
}

/** A webhook receiver that fails its first post (echoing the URL it was posted to) and records the rest. */
async function startWebhook(): Promise<Listening & { posts: Array<{ url: string; body: string }>; failed: number }> {
  const state = { posts: [] as Array<{ url: string; body: string }>, failed: 0 };
  const l = await listenOnLoopback(
    createServer((req, res) => {
      void body(req).then((b) => {
        if (state.failed === 0) {
          state.failed++;
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot deliver to ${req.url}`);
          return;
        }
        state.posts.push({ url: req.url ?? '', body: b.toString('utf8') });
        res.writeHead(200).end('ok');
      });
    }),
  );
  return Object.assign(l, state, {
    get posts() {
      return state.posts;
    },
    get failed() {
      return state.failed;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// the CLI

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rollgate(mainJs: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainJs, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What an event stream sends in its first second (its opening events: every rollout's summary). */
async function eventStreamStart(url: string): Promise<string> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 1_000);
  let text = '';
  try {
    const res = await fetch(url, { signal: ctl.signal });
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  } catch {
    // aborted after its first second: what came is what is searched
  } finally {
    clearTimeout(timer);
  }
  return text;
}

function plan(p: { name: string; prometheus: string; webhook: string }): string {
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata:
  name: ${p.name}
spec:
  revision: "1"
${p.prometheus}
  traffic: { router: file, file: { path: SPLIT_${p.name} } }
  metrics:
    - name: error-rate
      query: sum(vector(0.001))
      max: 0.01
      critical: true
  guard: { interval: 1s }
  analysis: { retryInterval: 1s, inconclusiveLimit: 20 }
  notify:
    - webhook: "${p.webhook}"
      on: [start, hold, advance, complete, pause, rollback]
  phases:
    - { name: canary, weight: 10, checkpoints: [1s, 2s] }
    - { name: full, weight: 100, checkpoints: [1s] }
`;
}

export async function secretsCheck(opts: SecretsCheckOptions): Promise<SecretsCheckReport> {
  const log = opts.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-secrets-'));
  const stops: Array<() => Promise<void>> = [];
  const outputs: Record<string, string> = {};
  try {
    const plain: RunningPrometheus = await startPrometheus();
    stops.push(() => plain.stop());
    const guarded: RunningPrometheus = await startPrometheus({ basicAuth: { username: USERNAME, password: PASSWORD, bcryptHash: PASSWORD_BCRYPT } });
    stops.push(() => guarded.stop());
    const bearerProxy = new EchoProxy(plain.url, 6, { authorization: `Bearer ${TOKEN}`, 'x-scope-orgid': HEADER_SECRET });
    const basicProxy = new EchoProxy(guarded.url, 6);
    await bearerProxy.start();
    await basicProxy.start();
    stops.push(() => bearerProxy.stop(), () => basicProxy.stop());
    const hook = await startWebhook();
    stops.push(() => hook.close());

    const tokenFile = join(dir, 'token');
    const passwordFile = join(dir, 'password');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    const plans = join(dir, 'plans');
    const stateDir = join(dir, 'state');
    const hookUrl = `${hook.url}/hooks/${HOOK_PATH_TOKEN}?token=${HOOK_QUERY_TOKEN}`;
    const files: Record<string, string> = {
      'sec-bearer': plan({
        name: 'sec-bearer',
        prometheus: `  prometheus:\n    address: ${bearerProxy.url}\n    bearerTokenFile: ${tokenFile}\n    headers: { X-Scope-OrgID: "${HEADER_SECRET}" }`,
        webhook: '${HOOK_URL}',
      }),
      'sec-basic': plan({
        name: 'sec-basic',
        prometheus: `  prometheus:\n    address: ${basicProxy.url}\n    basicAuth: { username: ${USERNAME}, passwordFile: ${passwordFile} }`,
        webhook: hookUrl,
      }),
    };
    mkdirSync(plans);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(plans, `${name}.yaml`), text.replace(`SPLIT_${name}`, join(dir, `${name}-split.json`)));
    const env: NodeJS.ProcessEnv = { ...process.env, HOOK_URL: hookUrl };

    // --- validate and plan
    for (const name of Object.keys(files)) {
      const file = join(plans, `${name}.yaml`);
      const v = await rollgate(opts.mainJs, ['validate', file], env);
      outputs[`validate ${name}`] = v.stdout + v.stderr;
      const p = await rollgate(opts.mainJs, ['plan', file, '--from', 'now'], env);
      outputs[`plan ${name}`] = p.stdout + p.stderr;
    }

    // --- run, until both rollouts complete
    log('rollgate run: two rollouts through echoing proxies');
    const run = spawn(process.execPath, [opts.mainJs, 'run', plans, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--log-format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let runOut = '';
    let runErr = '';
    run.stdout.setEncoding('utf8').on('data', (d: string) => (runOut += d));
    run.stderr.setEncoding('utf8').on('data', (d: string) => (runErr += d));
    const runExit = new Promise<void>((resolve) => run.once('close', () => resolve()));
    stops.push(async () => {
      if (run.exitCode === null && run.signalCode === null) {
        run.kill('SIGKILL');
        await runExit;
      }
    });
    const journalOf = (name: string) => join(stateDir, 'journal', 'default', `${name}.jsonl`);
    const lastDecision = (name: string): string | undefined => {
      try {
        const lines = readFileSync(journalOf(name), 'utf8').trim().split('\n');
        const records = lines.map((l) => JSON.parse(l) as { seq?: number; decision?: string }).filter((e) => e.seq !== undefined);
        return records.at(-1)?.decision;
      } catch {
        return undefined;
      }
    };
    const deadline = Date.now() + 120_000;
    const ended: Record<string, string> = {};
    while (Date.now() < deadline && run.exitCode === null) {
      const states = Object.keys(files).map((n) => lastDecision(n));
      if (states.every((d) => d === 'complete' || d === 'pause' || d === 'rollback')) break;
      await sleep(200);
    }
    for (const n of Object.keys(files)) ended[n] = lastDecision(n) ?? 'none';
    // Webhook posts are delivered in the background, retried after the first failure.
    const hookDeadline = Date.now() + 30_000;
    while (Date.now() < hookDeadline && hook.posts.filter((p) => p.body.includes('"complete"')).length < 2) await sleep(200);

    const url = /"url":"(http:\/\/[^"]+)"/.exec(runErr)?.[1];
    if (url) {
      outputs['/metrics'] = await (await fetch(`${url}/metrics`)).text();
      outputs['/readyz'] = await (await fetch(`${url}/readyz`)).text();
      outputs['/healthz'] = await (await fetch(`${url}/healthz`)).text();
      // The dashboard on the same address: its pages, its JSON and its event stream.
      outputs['dashboard /'] = await (await fetch(`${url}/`)).text();
      outputs['dashboard /api/rollouts'] = await (await fetch(`${url}/api/rollouts`)).text();
      for (const name of Object.keys(files)) {
        outputs[`dashboard /rollouts/default/${name}`] = await (await fetch(`${url}/rollouts/default/${name}`)).text();
        outputs[`dashboard /api/rollouts/default/${name}`] = await (await fetch(`${url}/api/rollouts/default/${name}`)).text();
      }
      outputs['dashboard /api/events'] = await eventStreamStart(`${url}/api/events`);
    }

    // --- status and history while it runs (state dir) and simulate against both proxies
    for (const args of [['status'], ['status', '--output', 'json']]) {
      const r = await rollgate(opts.mainJs, [...args, '--state-dir', stateDir], env);
      outputs[args.join(' ')] = r.stdout + r.stderr;
    }
    for (const name of Object.keys(files)) {
      for (const args of [['history', name], ['history', name, '--output', 'json']]) {
        const r = await rollgate(opts.mainJs, [...args, '--state-dir', stateDir], env);
        outputs[args.join(' ')] = r.stdout + r.stderr;
      }
      // JSON against the healthy proxy, text against the echoing one.
      for (const echo of [false, true]) {
        if (echo) {
          bearerProxy.echoNext(6);
          basicProxy.echoNext(6);
        }
        const output = echo ? 'text' : 'json';
        const r = await rollgate(opts.mainJs, ['simulate', join(plans, `${name}.yaml`), '--from', 'now-1m', '--until', 'now', '--output', output], env, 180_000);
        outputs[`simulate ${name} --output ${output}${echo ? ' (echoing proxy)' : ''}`] = r.stdout + r.stderr;
      }
      // The pretty log format, at debug (query retries and warnings carry the proxies' errors).
      bearerProxy.echoNext(6);
      basicProxy.echoNext(6);
      const pretty = await rollgate(
        opts.mainJs,
        ['simulate', join(plans, `${name}.yaml`), '--from', 'now-1m', '--until', 'now', '--log-format', 'pretty'],
        { ...env, ROLLGATE_LOG_LEVEL: 'debug' },
        180_000,
      );
      outputs[`simulate ${name} --log-format pretty (echoing proxy, debug)`] = pretty.stdout + pretty.stderr;
      // The report, with the metric ranges asked of Prometheus through the proxy: answered,
      // then refused with the credentials echoed (the report says why it has no ranges).
      for (const echo of [false, true]) {
        if (echo) {
          bearerProxy.echoNext(6);
          basicProxy.echoNext(6);
        }
        for (const format of ['html', 'json']) {
          const r = await rollgate(opts.mainJs, ['report', name, '--state-dir', stateDir, '--plan', join(plans, `${name}.yaml`), '--format', format], env);
          outputs[`report ${name} --format ${format}${echo ? ' (echoing proxy)' : ''}`] = r.stdout + r.stderr;
        }
      }
    }

    run.kill('SIGTERM');
    await runExit;
    outputs['run stdout'] = runOut;
    outputs['run stderr'] = runErr;
    // The same lines as `--log-format pretty` prints them (the pretty format is made from each JSON line).
    const pretty = prettyLines({ colorize: false });
    outputs['run stderr (pretty)'] = runErr.split('\n').filter((l) => l.startsWith('{')).map((l) => pretty(l)).join('');
    let errorRecords = 0;
    for (const ns of readdirSync(join(stateDir, 'journal'))) {
      for (const f of readdirSync(join(stateDir, 'journal', ns))) {
        const text = readFileSync(join(stateDir, 'journal', ns, f), 'utf8');
        outputs[`journal ${ns}/${f}`] = text;
        errorRecords += text.split('\n').filter((l) => /Prometheus at|HTTP \d{3}|credentials/.test(l) && l.includes('"seq"')).length;
      }
    }
    hook.posts.forEach((p, i) => (outputs[`webhook body ${i + 1}`] = p.body));

    const secrets = secretForms();
    const leaks = findLeaks(outputs, secrets);
    return {
      outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, Buffer.byteLength(v)])),
      secrets: Object.keys(secrets),
      leaks,
      echoedErrors: bearerProxy.echoed + basicProxy.echoed,
      webhookPosts: hook.posts.length + hook.failed,
      ended,
      errorRecords,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

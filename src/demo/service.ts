/**
 * The instrumented service of the live demo, its e2e test and the breach benchmark: one
 * version of a small HTTP service on a free 127.0.0.1 port, instrumented like a real one with
 * prom-client on its own Registry:
 *
 *   http_requests_total{version, code, mirror}            counter
 *   http_request_duration_seconds{version, mirror}        histogram
 *
 * `mirror` is "true" for copies sent by the traffic router's mirror (they carry the mirror
 * header, see MIRROR_HEADER) and "false" for live requests. Every response carries
 * `X-Version`. Scrape it at `/metrics`.
 *
 * `failRate` (0-1) fails that share of *live* requests with a 500, evenly spread (an error
 * accumulator: 0.05 fails exactly one live request in 20, the first being the 20th); mirrored
 * copies always succeed, so a version that breaks only on live traffic looks healthy while dark.
 * Both codes (200, 500) are exported at 0 from the start for both mirror values, so that the
 * very first failure is visible to rate() (a series born at 1 shows no increase).
 *
 *   const v2 = await startDemoService({ version: 'v2', failRate: 0.05 });
 *   v2.hostPort   // "127.0.0.1:PORT", for the router and Prometheus
 *   await v2.stop();
 *
 * The server lives in this process, so it cannot outlive it; `stop()` closes it and its
 * keep-alive connections.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';

/** The header the nginx router's mirror adds to the copies it sends to the canary. */
export const MIRROR_HEADER = 'x-rollgate-mirror';

export interface DemoServiceOptions {
  /** The `version` label and the `X-Version` header, e.g. "v2". */
  version: string;
  /** Share (0-1) of live requests answered with 500. Default 0. */
  failRate?: number;
  /** Mean added response time in ms (uniform 0..2x). Default 2. */
  latencyMs?: number;
  /** Header (lower case) marking mirrored copies. Default MIRROR_HEADER. */
  mirrorHeader?: string;
}

export interface RequestCounts {
  live: number;
  mirrored: number;
  failed: number;
}

export interface DemoService {
  readonly version: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** 127.0.0.1:PORT */
  readonly hostPort: string;
  /** Changes the share of live requests that fail, from the next request on. */
  setFailRate(rate: number): void;
  counts(): RequestCounts;
  stop(): Promise<void>;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

function checkRate(version: string, rate: number): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`demo service ${version}: failRate ${rate} is not a share from 0 to 1`);
  }
  return rate;
}

export async function startDemoService(opts: DemoServiceOptions): Promise<DemoService> {
  const version = opts.version;
  let failRate = checkRate(version, opts.failRate ?? 0);
  const latencyMs = opts.latencyMs ?? 2;
  const mirrorHeader = (opts.mirrorHeader ?? MIRROR_HEADER).toLowerCase();

  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by version, status code and whether it was a mirrored copy',
    labelNames: ['version', 'code', 'mirror'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration, by version and whether it was a mirrored copy',
    labelNames: ['version', 'mirror'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  for (const mirror of ['true', 'false']) {
    for (const code of ['200', '500']) requests.inc({ version, code, mirror }, 0);
    duration.zero({ version, mirror });
  }

  const counts: RequestCounts = { live: 0, mirrored: 0, failed: 0 };
  let failDebt = 0;

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const mirrored = req.headers[mirrorHeader] !== undefined;
    let code = 200;
    if (mirrored) counts.mirrored++;
    else {
      counts.live++;
      failDebt += failRate;
      if (failDebt >= 1 - 1e-9) {
        failDebt -= 1;
        code = 500;
        counts.failed++;
      }
    }
    const finish = () => {
      const body = code === 200 ? JSON.stringify({ version, ok: true }) : JSON.stringify({ version, error: 'injected failure' });
      res.writeHead(code, { 'Content-Type': 'application/json', 'X-Version': version, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      const labels = { version, mirror: String(mirrored) };
      requests.inc({ ...labels, code: String(code) });
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    // Drain the request body (mirrored POSTs carry one) before answering.
    req.resume();
    const delay = latencyMs > 0 ? Math.random() * 2 * latencyMs : 0;
    if (delay > 0) setTimeout(finish, delay);
    else finish();
  };

  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics of demo service ${version} failed: ${err.message}\n`);
        },
      );
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Version': version });
      res.end('ok\n');
      return;
    }
    answer(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | null = null;

  return {
    version,
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    setFailRate(rate: number) {
      failRate = checkRate(version, rate);
    },
    counts: () => ({ ...counts }),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

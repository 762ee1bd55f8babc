/**
 * Tiny HTTP backends that answer with their name, and a load generator that tallies who
 * answered, for the router tests, the bench and the live demo.
 *
 *   const b = await startBackends(['stable', 'canary']);   // each on a free 127.0.0.1 port
 *   b.stable.address            // '127.0.0.1:PORT' (for nginx `stable`, HAProxy `server`)
 *   const tally = await sendRequests(`${nginx.url}/`, 1000);
 *   tally.byBackend             // { stable: 949, canary: 51 }
 *   b.canary.requests           // every request received, mirrored copies included
 *   await b.close();
 *
 * Every response carries `X-Backend: <name>` and the body `<name>\n`. Each backend records
 * every request (method, url, headers, and `mirrored` = it carried `X-Rollgate-Mirror: 1`,
 * the header the nginx router's mirror location adds to copies).
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './ports.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The request carried `X-Rollgate-Mirror: 1` (a copy sent by a mirror). */
  mirrored: boolean;
  at: number;
}

export interface TestBackend {
  name: string;
  port: number;
  /** 127.0.0.1:PORT */
  address: string;
  url: string;
  requests: RecordedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export type TestBackends<N extends string> = Record<N, TestBackend> & {
  /** Forgets every backend's recorded requests. */
  reset(): void;
  close(): Promise<void>;
};

export const MIRROR_HEADER = 'x-rollgate-mirror';

export async function startBackend(name: string): Promise<TestBackend> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    req.resume(); // drain any body
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        mirrored: req.headers[MIRROR_HEADER] === '1',
        at: Date.now(),
      });
      const body = `${name}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': name });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5_000;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await listen(server, port);
      return {
        name,
        port,
        address: `127.0.0.1:${port}`,
        url: `http://127.0.0.1:${port}`,
        requests,
        reset: () => void requests.splice(0),
        close: () => closeServer(server),
      };
    } catch (err) {
      if (attempt < 3 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
  }
}

export async function startBackends<N extends string>(names: readonly N[]): Promise<TestBackends<N>> {
  const started: TestBackend[] = [];
  try {
    for (const name of names) started.push(await startBackend(name));
  } catch (err) {
    await Promise.all(started.map((b) => b.close()));
    throw err;
  }
  const out = Object.fromEntries(started.map((b) => [b.name, b])) as Record<N, TestBackend>;
  return Object.assign(out, {
    reset: () => started.forEach((b) => b.reset()),
    close: async () => void (await Promise.all(started.map((b) => b.close()))),
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface Tally {
  total: number;
  /** Count per `X-Backend` value (`(none)` when absent). */
  byBackend: Record<string, number>;
  /** Requests that failed (connection error or non-2xx), with the first messages. */
  errors: number;
  errorSamples: string[];
}

/** The share of `backend` in a tally, in percent. */
export function sharePercent(tally: Tally, backend: string): number {
  return tally.total === 0 ? 0 : ((tally.byBackend[backend] ?? 0) * 100) / tally.total;
}

/**
 * Sends `n` GET requests to `url`, `concurrency` at a time, each on a fresh connection
 * (`Connection: close`, so no request rides a connection accepted before a reload), and
 * tallies the `X-Backend` header of the answers.
 */
export async function sendRequests(url: string, n: number, opts: { concurrency?: number; headers?: Record<string, string> } = {}): Promise<Tally> {
  const tally: Tally = { total: 0, byBackend: {}, errors: 0, errorSamples: [] };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const backend = await getBackend(url, opts.headers ?? {});
        tally.byBackend[backend] = (tally.byBackend[backend] ?? 0) + 1;
      } catch (err) {
        tally.errors++;
        if (tally.errorSamples.length < 5) tally.errorSamples.push((err as Error).message);
      }
      tally.total++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 16, n)) }, worker));
  return tally;
}

/** One GET; resolves with the `X-Backend` header of a 2xx answer. */
export function getBackend(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close', ...headers }, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) reject(new Error(`HTTP ${status} from ${url}`));
        else resolve(String(res.headers['x-backend'] ?? '(none)'));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after 5 s: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface SteadyResponse {
  /** performance.now() when the request was sent and when it ended. */
  sentAt: number;
  endedAt: number;
  /** `X-Backend` of a 2xx answer; null when the request failed. */
  backend: string | null;
  /** Why it failed (HTTP status or the connection error's code), when it did. */
  error?: string;
}

export interface SteadyLoad {
  responses: SteadyResponse[];
  /** Requests that failed so far. */
  failed(): number;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

/**
 * Steady load as real clients send it: `connections` clients, each sending GET requests back
 * to back over its own keep-alive connection (Node's http.Agent with keepAlive, which does not
 * retry a request whose reused connection was reset), recording every request. Unlike
 * sendRequests, connections are reused across the requests, so anything that closes idle
 * keep-alive connections (an nginx reload) shows up as failed requests.
 */
export function startSteadyLoad(url: string, opts: { connections?: number; timeoutMs?: number } = {}): SteadyLoad {
  const connections = opts.connections ?? 8;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const responses: SteadyResponse[] = [];
  let stopping = false;
  const one = (): Promise<SteadyResponse> =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      const done = (backend: string | null, error?: string) => resolve({ sentAt, endedAt: performance.now(), backend, ...(error ? { error } : {}) });
      const req = request(url, { method: 'GET', agent, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) done(null, `HTTP ${status}`);
          else done(String(res.headers['x-backend'] ?? '(none)'));
        });
        res.on('error', (err: NodeJS.ErrnoException) => done(null, err.code ?? err.message));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => done(null, err.code ?? err.message));
      req.end();
    });
  const clients = Array.from({ length: connections }, async () => {
    while (!stopping) responses.push(await one());
  });
  return {
    responses,
    failed: () => responses.filter((r) => r.backend === null).length,
    stop: async () => {
      stopping = true;
      await Promise.all(clients);
      agent.destroy();
    },
  };
}

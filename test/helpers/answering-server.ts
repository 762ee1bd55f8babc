/**
 * A small HTTP server on 127.0.0.1 that answers every Prometheus API request with what a test
 * says: for answers a real Prometheus never gives (a broken proxy's `""` values, `result:
 * null`, an endless HTTP 500). Anything a real Prometheus can produce is tested against one
 * (test/helpers/prometheus.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  /** A value to send as JSON, or raw text. */
  body: unknown;
  headers?: Record<string, string>;
}

export interface AskedQuery {
  path: string;
  form: URLSearchParams;
}

/** An answer now, or later (a slow server). */
export type Answering = (q: AskedQuery) => Answer | Promise<Answer>;

export interface AnsweringServer {
  url: string;
  /** Every request received, in order. */
  asked: AskedQuery[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Replaces the answer function. */
  answer(fn: Answering): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export async function startAnsweringServer(fn: Answering): Promise<AnsweringServer> {
  let answer = fn;
  let connections = 0;
  const asked: AskedQuery[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const form = new URLSearchParams(req.method === 'POST' ? body : url.search);
      const q = { path: url.pathname, form };
      asked.push(q);
      const a = await answer(q);
      if (res.destroyed) return; // the client gave up (timeout)
      const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
      res.writeHead(a.status, { 'Content-Type': typeof a.body === 'string' ? 'text/plain' : 'application/json', ...a.headers });
      res.end(text);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    asked,
    get connections() {
      return connections;
    },
    answer: (f) => {
      answer = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Prometheus success envelope around `data`. */
export function success(data: unknown): Answer {
  return { status: 200, body: { status: 'success', data } };
}

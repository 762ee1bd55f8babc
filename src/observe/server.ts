/**
 * The controller's HTTP endpoints, on node:http: `/metrics` (Prometheus text format, written
 * piece by piece as the socket takes it, so a large exposition never blocks the loop at once),
 * `/healthz` (alive: answered while the event loop runs) and `/readyz` (ready to act, as the
 * caller's `ready()` says; 503 with the reason otherwise). Extra GET routes (the dashboard) are
 * mounted with `routes`; a server without `metrics` or `ready` does not serve that path.
 * Only GET and HEAD are answered (405 otherwise); anything no route takes is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../support/log.js';

export interface Readiness {
  ok: boolean;
  reason?: string;
}

/** What `/metrics` serves; ControllerMetrics is one. */
export interface MetricsSource {
  readonly contentType: string;
  /** The exposition text (UTF-8) in pieces, written in order. */
  exposition(): Promise<readonly Buffer[]>;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port; `port` of the returned server tells which. */
  port: number;
  /** Absent: no `/metrics` on this server (404). */
  metrics?: MetricsSource;
  /** Absent: no `/readyz` on this server (404). */
  ready?: () => Readiness;
  /** More GET/HEAD routes, asked in order after /metrics, /healthz and /readyz. */
  routes?: readonly HttpRoutes[];
  log: Logger;
}

/** A set of GET/HEAD routes mounted on the server. */
export interface HttpRoutes {
  /**
   * Answers the request if `url.pathname` is one of its paths and returns true; false leaves
   * it to the next routes (404 when none takes it). Only GET and HEAD requests reach it.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
  /** Ends what outlives a request (event streams): called first when the server closes. */
  close?(): void;
}

export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const log = opts.log.child({ component: 'http' });
  const server = createServer((req, res) => {
    route(req, res, opts).catch((err: unknown) => {
      log.error({ err, path: pathOf(req) }, `http: ${pathOf(req)} failed`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapes and probes are short; do not let idle keep-alive sockets hold close() up.
  server.keepAliveTimeout = 5_000;
  await listen(server, opts.host, opts.port);
  const { port } = server.address() as AddressInfo;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostForUrl}:${port}`;
  log.debug({ host: opts.host, port }, `http: serving on ${url}`);
  return {
    host: opts.host,
    port,
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const r of opts.routes ?? []) r.close?.();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = pathOf(req);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/metrics' && opts.metrics) return sendPieces(res, opts.metrics.contentType, await opts.metrics.exposition());
  if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  if (path === '/readyz' && opts.ready) {
    const r = opts.ready();
    const body = JSON.stringify(r.ok ? { ok: true } : { ok: false, reason: r.reason ?? 'not ready' }) + '\n';
    return send(res, r.ok ? 200 : 503, 'application/json', body);
  }
  if (opts.routes?.length) {
    const url = new URL(req.url ?? '/', 'http://rollgate.invalid');
    for (const r of opts.routes) if (await r.handle(req, res, url)) return;
  }
  return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A 200 with the body written piece by piece, waiting for the socket to drain between them. */
async function sendPieces(res: ServerResponse, contentType: string, pieces: readonly Buffer[]): Promise<void> {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  if (res.req.method !== 'HEAD') {
    for (const piece of pieces) {
      if (res.destroyed) return;
      if (!res.write(piece)) await drained(res);
    }
  }
  res.end();
}

/** Resolves when the response can take more, or is closed (the scraper went away). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

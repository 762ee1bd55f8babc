/**
 * A small REST client for the Kubernetes API on top of @kubernetes/client-node's KubeConfig
 * (which supplies the server, TLS material and credentials, in cluster or from a kubeconfig).
 * It speaks plain JSON over node:http(s) so every verb and patch content type is explicit:
 *
 *   merge patch        application/merge-patch+json
 *   JSON patch         application/json-patch+json   (with `test` ops for optimistic checks)
 *   strategic merge    application/strategic-merge-patch+json (built-in kinds only)
 *
 * Errors are KubeApiError carrying the API's Status (code, reason, message); credentials never
 * appear in messages.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { formatSpan } from '../support/human-time.js';

export const PATCH = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;
export type PatchType = (typeof PATCH)[keyof typeof PATCH];

/** The Kubernetes `Status` object returned with API errors. */
export interface KubeStatus {
  kind?: 'Status';
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly code: number,
    readonly reason: string,
    readonly status: KubeStatus | null,
  ) {
    super(`${method} ${path}: ${code} ${reason}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'KubeApiError';
  }
  get notFound() {
    return this.code === 404;
  }
  get conflict() {
    return this.code === 409;
  }
  get gone() {
    return this.code === 410;
  }
  /** Worth retrying: throttling, server errors, timeouts, network faults (code 0). */
  get transient() {
    return this.code === 0 || this.code === 429 || this.code >= 500;
  }
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export interface KubeClientOptions {
  timeoutMs?: number;
}

export class KubeClient {
  readonly server: string;
  private readonly timeoutMs: number;

  constructor(
    readonly kc: KubeConfig,
    opts: KubeClientOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no current Kubernetes cluster in the kubeconfig');
    this.server = cluster.server.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** The user name of the current context (the actor of manual decisions). */
  userName(): string {
    return this.kc.getCurrentUser()?.name ?? 'unknown';
  }

  async request<T = unknown>(req: KubeRequest): Promise<T> {
    const res = await this.raw(req);
    return (res.body === '' ? null : JSON.parse(res.body)) as T;
  }

  get<T = unknown>(path: string, query?: KubeRequest['query']): Promise<T> {
    return this.request<T>({ method: 'GET', path, ...(query ? { query } : {}) });
  }

  patch<T = unknown>(path: string, body: unknown, contentType: PatchType): Promise<T> {
    return this.request<T>({ method: 'PATCH', path, body, contentType });
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>({ method: 'POST', path, body });
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>({ method: 'PUT', path, body });
  }

  /** Opens a streaming GET (watch); resolves with the response once headers arrive. */
  async stream(path: string, query: KubeRequest['query'], signal?: AbortSignal): Promise<http.IncomingMessage> {
    const { url, options } = await this.prepare({ method: 'GET', path, ...(query ? { query } : {}) });
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { ...options, ...(signal ? { signal } : {}) }, (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          collect(res).then((body) => reject(toError('GET', path, res.statusCode ?? 0, body)), reject);
          return;
        }
        resolve(res);
      });
      req.on('error', (err) => reject(new KubeApiError('GET', path, 0, (err as NodeJS.ErrnoException).code ?? 'NetworkError', { message: err.message })));
      req.end();
    });
  }

  private async prepare(req: KubeRequest): Promise<{ url: URL; options: https.RequestOptions }> {
    const url = new URL(this.server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = { method: req.method, headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    return { url, options };
  }

  private async raw(req: KubeRequest): Promise<{ status: number; body: string }> {
    const { url, options } = await this.prepare(req);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (payload !== undefined) {
      options.headers = { ...options.headers, 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    }
    const timeout = req.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const r = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
        collect(res).then((body) => {
          const status = res.statusCode ?? 0;
          if (status >= 400) reject(toError(req.method, req.path, status, body));
          else resolve({ status, body });
        }, reject);
      });
      r.setTimeout(timeout, () => r.destroy(Object.assign(new Error(`timed out after ${formatSpan(timeout)}`), { code: 'ETIMEDOUT' })));
      r.on('error', (err) => reject(new KubeApiError(req.method, req.path, 0, (err as NodeJS.ErrnoException).code ?? 'NetworkError', { message: err.message })));
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  }
}

function collect(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toError(method: string, path: string, code: number, body: string): KubeApiError {
  let status: KubeStatus | null = null;
  try {
    const parsed = JSON.parse(body) as KubeStatus;
    if (parsed && typeof parsed === 'object') status = parsed;
  } catch {
    status = body ? { message: body.slice(0, 300) } : null;
  }
  return new KubeApiError(method, path, code, status?.reason ?? http.STATUS_CODES[code] ?? 'Error', status);
}

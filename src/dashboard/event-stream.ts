/**
 * The server-sent event streams of `/api/events`: each client gets `event: NAME` and one
 * `data:` JSON line per DashboardEvent (only those of its rollout when it follows one), a
 * `retry:` hint at the start and a comment line every HEARTBEAT_MS so proxies keep it open.
 *
 * Bounded: at most `maxClients` streams at once (503 beyond, with Retry-After), and a client
 * whose socket has more than `maxBacklogBytes` unsent is dropped rather than buffered without
 * limit (its browser reconnects and reloads what it missed). close() ends every stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../support/log.js';
import type { DashboardEvent } from './view.js';

/** Streams open at once; more are refused with 503. */
export const MAX_EVENT_CLIENTS = 64;
/** Bytes a client may leave unread before it is dropped. */
export const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024;
/** A comment line this often keeps idle streams open through proxies. */
export const HEARTBEAT_MS = 15_000;
/** What a browser waits before reconnecting a dropped stream. */
export const RETRY_MS = 3_000;

export interface EventStreamOptions {
  log: Logger;
  maxClients?: number;
  maxBacklogBytes?: number;
  heartbeatMs?: number;
}

interface Client {
  res: ServerResponse;
  /** The rollout it follows, or null: every rollout. */
  rollout: string | null;
}

export class EventStreams {
  private readonly clients = new Set<Client>();
  private readonly maxClients: number;
  private readonly maxBacklogBytes: number;
  private readonly heartbeatMs: number;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: EventStreamOptions) {
    this.maxClients = opts.maxClients ?? MAX_EVENT_CLIENTS;
    this.maxBacklogBytes = opts.maxBacklogBytes ?? MAX_CLIENT_BACKLOG_BYTES;
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes the request as a stream of the events of `rollout` (null: all), or refuses it (503). */
  open(req: IncomingMessage, res: ServerResponse, rollout: string | null): void {
    if (this.closed || this.clients.size >= this.maxClients) {
      const body = `${JSON.stringify({ error: `too many event streams open (at most ${this.maxClients}); retry later` })}\n`;
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'retry-after': String(Math.ceil(RETRY_MS / 1000)), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const client: Client = { res, rollout };
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    res.write(`retry: ${RETRY_MS}\n: rollgate events${rollout ? ` of ${oneLine(rollout)}` : ''}\n\n`);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Sends `e` to every client that follows its rollout (or all rollouts). */
  send(e: DashboardEvent): void {
    if (this.clients.size === 0) return;
    const rollout = e.data.rollout;
    const text = `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
    for (const c of this.clients) if (c.rollout === null || c.rollout === rollout) this.write(c, text);
  }

  /** Ends every stream; later requests are refused. */
  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const c of [...this.clients]) {
      this.clients.delete(c);
      c.res.end();
    }
  }

  private beat(): void {
    for (const c of this.clients) this.write(c, ': heartbeat\n\n');
  }

  private write(c: Client, text: string): void {
    if (c.res.writableLength + Buffer.byteLength(text) > this.maxBacklogBytes) {
      this.opts.log.warn({ backlogBytes: c.res.writableLength }, `dashboard: an event stream reads too slowly (over ${this.maxBacklogBytes} bytes unsent); dropped`);
      this.drop(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  private drop(c: Client): void {
    this.clients.delete(c);
    if (this.clients.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }
}

/** A name for a comment line: no line breaks. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

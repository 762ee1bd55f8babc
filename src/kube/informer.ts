/**
 * A small informer on KubeClient: list, then watch from the list's resourceVersion, keeping a
 * cache of the objects and calling handlers for each change.
 *
 * - Every event moves the resourceVersion on (BOOKMARK events too, requested with
 *   allowWatchBookmarks), so a stream that drops (server timeout, network fault, API server
 *   restart) resumes from where it was, after a backoff that grows while reconnects fail.
 * - `410 Gone` (an HTTP 410, or an ERROR event whose Status has code 410: the resourceVersion
 *   is too old) re-lists; the cache is replaced and the differences are delivered as
 *   add/update/delete, so no change is lost across the gap.
 * - A watch that goes silent — no event and no bookmark for `silenceMs`, or no response
 *   headers within it — is taken for dead (a half-open connection, a stuck proxy): it is
 *   aborted, the collection is listed again (the differences delivered as above) and a new
 *   watch starts. kube-apiserver sends a bookmark to each watch that asked for them about once
 *   a minute, so a healthy but quiet watch is not cut; a server that sends none costs one list
 *   per `silenceMs`.
 *
 * Written here rather than taken from @kubernetes/client-node's makeInformer so that every
 * request goes through the one REST client (one place for credentials, TLS and error shapes),
 * the resume and relist rules above are explicit and testable with plain HTTP fixtures, and
 * "synced" (the first list is in) is available for /readyz.
 */
import { KubeApiError, type KubeClient } from './client.js';
import type { Logger } from '../support/log.js';
import { objectKey, type KubeList, type KubeObject } from './objects.js';
import type { KubeStatus } from './client.js';
import { formatSpan } from '../support/human-time.js';

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T): void;
  onDelete?(obj: T): void;
  /** After each (re)list: the cache is complete. */
  onSynced?(): void;
}

export interface InformerOptions {
  /** Collection path, e.g. `/apis/rollgate.dev/v1alpha1/rolloutplans`. */
  path: string;
  log: Logger;
  /** First reconnect delay; doubles while reconnects fail, up to maxBackoffMs. Default 500 ms. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** The server ends each watch after this; the informer then resumes. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** A watch with no event, bookmark or headers for this long is dead: re-list and watch again. Default 120 s. */
  silenceMs?: number;
}

/** The resourceVersion the informer was watching from is no longer available. */
class GoneError extends Error {}

/** The watch carried nothing (no event, no bookmark) for the silence deadline. */
class SilentWatchError extends Error {}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion: string | null = null;
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private hasSynced = false;
  /** Resource versions the watches started from, oldest first (tests and debugging). */
  readonly watchedFrom: string[] = [];
  lists = 0;
  /** Watches given up for silence (tests and debugging). */
  silentWatches = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions,
    private readonly handlers: InformerHandlers<T>,
  ) {}

  /** True once the first list has been delivered. */
  get synced(): boolean {
    return this.hasSynced;
  }

  get lastResourceVersion(): string | null {
    return this.resourceVersion;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          failures = 0;
        }
        const events = await this.watchOnce();
        // A stream that carried events was healthy: resume at once; an empty one backs off.
        failures = events > 0 ? 0 : failures + 1;
        if (failures > 0) await this.sleep(Math.min(max, min * 2 ** (failures - 1)));
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof SilentWatchError) {
          this.silentWatches++;
          log.warn({ path: this.opts.path, resourceVersion: this.resourceVersion, silentForMs: this.silenceMs() }, `watch ${this.opts.path}: ${err.message}; listing again and watching anew`);
          needList = true;
          failures = 0;
          continue;
        }
        if (err instanceof GoneError || (err instanceof KubeApiError && err.gone)) {
          log.info({ path: this.opts.path, resourceVersion: this.resourceVersion }, `watch ${this.opts.path}: resourceVersion ${this.resourceVersion} is gone (410); listing again`);
          needList = true;
          continue;
        }
        failures++;
        const delay = Math.min(max, min * 2 ** (failures - 1));
        log.warn({ path: this.opts.path, err: (err as Error).message, retryInMs: delay }, `watch ${this.opts.path} failed; reconnecting from resourceVersion ${this.resourceVersion ?? '(list)'}`);
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Lists the collection and delivers the differences with the cache. */
  private async relist(): Promise<void> {
    const list = await this.client.get<KubeList<T>>(this.opts.path);
    this.lists++;
    const seen = new Set<string>();
    for (const obj of list.items ?? []) {
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    for (const [key, obj] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.call(() => this.handlers.onDelete?.(obj));
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? null;
    this.hasSynced = true;
    this.call(() => this.handlers.onSynced?.());
  }

  private upsert(key: string, obj: T): void {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.call(() => this.handlers.onAdd?.(obj));
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.call(() => this.handlers.onUpdate?.(obj, old));
  }

  /** A handler's fault is logged, never stops the informer. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ path: this.opts.path, err: (err as Error).message }, 'informer handler failed');
    }
  }

  private silenceMs(): number {
    return this.opts.silenceMs ?? 120_000;
  }

  /** One watch stream, until it ends; returns how many events it carried. */
  private async watchOnce(): Promise<number> {
    const abort = (this.abort = new AbortController());
    // Stopped while listing: stop() aborted the previous controller, so no stream may start.
    if (this.stopped) return 0;
    const from = this.resourceVersion ?? undefined;
    if (from) this.watchedFrom.push(from);
    const silenceMs = this.silenceMs();
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        abort.abort();
      }, silenceMs);
    };
    const silence = () => new SilentWatchError(`no event and no bookmark for ${formatSpan(silenceMs)} (watching from resourceVersion ${from ?? '(list)'})`);
    let events = 0;
    let buffer = '';
    arm();
    try {
      const res = await this.client.stream(
        this.opts.path,
        { watch: 1, allowWatchBookmarks: true, resourceVersion: from, timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 },
        abort.signal,
      );
      for await (const chunk of res) {
        buffer += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          arm();
          this.handleEvent(line);
          events++;
        }
      }
    } catch (err) {
      if (this.stopped) return events;
      if (silent) throw silence();
      if (err instanceof GoneError || err instanceof KubeApiError) throw err;
      throw new KubeApiError('GET', this.opts.path, 0, 'StreamError', { message: `watch stream broke: ${(err as Error).message}` });
    } finally {
      clearTimeout(timer);
    }
    if (silent) throw silence();
    return events;
  }

  private handleEvent(line: string): void {
    let event: { type?: string; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      this.opts.log.warn({ path: this.opts.path, line: line.slice(0, 200) }, 'watch: ignoring a line that is not JSON');
      return;
    }
    if (event.type === 'ERROR') {
      const status = (event.object ?? {}) as KubeStatus;
      if (status.code === 410) throw new GoneError(status.message ?? 'Gone');
      throw new KubeApiError('GET', this.opts.path, status.code ?? 0, status.reason ?? 'WatchError', status);
    }
    const obj = event.object as T | undefined;
    if (!obj?.metadata) return;
    const rv = obj.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const key = objectKey(obj);
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.upsert(key, obj);
    else if (event.type === 'DELETED') {
      const old = this.cache.get(key);
      this.cache.delete(key);
      this.call(() => this.handlers.onDelete?.(old ?? obj));
    }
    if (rv) this.resourceVersion = rv;
  }
}

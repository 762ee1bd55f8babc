/**
 * An in-memory Kubernetes API behind nock, for controller tests: objects by path with
 * resourceVersion and generation bookkeeping, optimistic concurrency (a PUT or patch carrying
 * a stale metadata.resourceVersion gets 409 Conflict), merge and JSON patches, the status
 * subresource of RolloutPlans as kube-apiserver serves it (a PUT or PATCH of the object keeps
 * the stored `.status`; a PATCH of `/status` changes `.status` only; generation moves only
 * with the spec), `Status` error bodies, and watch streams of newline-delimited events. Every
 * request is recorded with its method, path, content type, body, the bearer token it came with
 * (`user`: each replica of a test can have its own) and the status code it got. And a
 * controller started on it with the tests' settings (startTestController).
 */
import nock from 'nock';
import { PassThrough } from 'node:stream';
import { kubeClient, SERVER } from '../unit/kube-fixtures.js';
import type { KubeController } from '../../src/cluster/host.js';
import { startInCluster } from '../../src/wiring/compose.js';
import { silentLogger } from '../../src/support/log.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';

export interface Recorded {
  method: string;
  path: string;
  contentType: string | undefined;
  body: any;
  /** The bearer token of the request: who sent it. */
  user: string | undefined;
  /** The status code answered (0: the connection was refused). */
  code?: number;
}

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, any>; [k: string]: any };

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointerParts(p: string): string[] {
  return p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export class FakeKube {
  readonly objects = new Map<string, Obj>();
  readonly requests: Recorded[] = [];
  private rv = 1000;
  private readonly watchers: Array<{ collection: string; stream: PassThrough }> = [];
  /** Test fault injection: answer the next matching request (of `user` only, when set) with this instead. */
  readonly faults: Array<{ method: string; path: RegExp; code: number; reason: string; times: number; user?: string }> = [];
  /** Users (bearer tokens) whose connections are refused, as for a process that is gone: no request of theirs arrives. */
  readonly unreachable = new Set<string>();
  /** Requests that would write (POST, PUT, PATCH), except those matching `ignore`. */
  writes(ignore?: RegExp): Recorded[] {
    return this.requests.filter((r) => r.method !== 'GET' && !(ignore && ignore.test(r.path)));
  }

  constructor() {
    const self = this;
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      nock(SERVER)
        .persist()
        .intercept(/.*/, method)
        .reply(function (uri, body, cb) {
          const url = new URL(uri, SERVER);
          const contentType = this.req.headers['content-type'] as string | undefined;
          const user = /^Bearer (.+)$/.exec(String(this.req.headers.authorization ?? ''))?.[1];
          const parsed = typeof body === 'string' && body !== '' ? JSON.parse(body) : body;
          const recorded: Recorded = { method, path: url.pathname, contentType, body: parsed, user };
          self.requests.push(recorded);
          if (user !== undefined && self.unreachable.has(user)) {
            recorded.code = 0;
            cb(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), [0]);
            return;
          }
          const answer = self.handle(method, url, parsed, contentType, user);
          recorded.code = answer[0];
          cb(null, answer as any);
        });
    }
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.stream.destroy();
    nock.cleanAll();
  }

  /** Puts an object as if created by someone else (kubectl apply). */
  create(path: string, obj: Obj): Obj {
    const stored = { ...obj, metadata: { uid: `uid-${obj.metadata.name}`, creationTimestamp: '2025-11-03T10:00:00Z', generation: 1, ...obj.metadata, resourceVersion: String(++this.rv) } };
    this.objects.set(path, stored);
    this.notify(path, 'ADDED', stored);
    return stored;
  }

  /** Changes an object as someone else would (spec edits bump generation). */
  update(path: string, fn: (o: Obj) => Obj): Obj {
    const old = this.objects.get(path)!;
    const next = fn(structuredClone(old));
    if (JSON.stringify(next.spec) !== JSON.stringify(old.spec)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(path, next);
    this.notify(path, 'MODIFIED', next);
    return next;
  }

  remove(path: string): void {
    const old = this.objects.get(path)!;
    this.objects.delete(path);
    this.notify(path, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } });
  }

  get(path: string): Obj | undefined {
    return this.objects.get(path);
  }

  /**
   * While true, every watch is held open but silent, as over a half-open connection or a stuck
   * proxy: no event and no bookmark reaches it (the events are lost to it).
   */
  silenceWatches = false;

  /** Open watches (streams not yet ended). */
  openWatches(): number {
    return this.watchers.filter((w) => !w.stream.destroyed && !w.stream.writableEnded).length;
  }

  /** A BOOKMARK event on every watch of `collection` (as kube-apiserver sends to watches with allowWatchBookmarks). */
  bookmark(collection: string): void {
    if (this.silenceWatches) return;
    const object = { kind: 'RolloutPlan', apiVersion: 'rollgate.dev/v1alpha1', metadata: { resourceVersion: String(this.rv) } };
    for (const w of this.watchers) if (w.collection === collection && !w.stream.destroyed) w.stream.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }

  private notify(path: string, type: string, obj: Obj): void {
    if (this.silenceWatches) return;
    const collection = path.slice(0, path.lastIndexOf('/'));
    const clusterWide = collection.replace(/\/namespaces\/[^/]+/, '');
    for (const w of this.watchers) {
      if (w.collection === collection || w.collection === clusterWide) w.stream.write(`${JSON.stringify({ type, object: obj })}\n`);
    }
  }

  private handle(method: string, url: URL, body: any, contentType: string | undefined, user: string | undefined): [number, unknown] | [number, unknown, Record<string, string>] {
    let path = url.pathname;
    const fault = this.faults.find((f) => f.method === method && f.path.test(path) && f.times > 0 && (f.user === undefined || f.user === user));
    if (fault) {
      fault.times--;
      return [fault.code, status(fault.code, fault.reason, `injected ${fault.reason}`)];
    }
    const sub = path.endsWith('/status') && path.split('/').length > 7 ? 'status' : null;
    if (sub) path = path.slice(0, -'/status'.length);
    const existing = this.objects.get(path);
    const name = path.slice(path.lastIndexOf('/') + 1);
    switch (method) {
      case 'GET': {
        if (existing) return [200, existing];
        const items = [...this.objects.entries()].filter(([p]) => this.inCollection(p, path)).map(([, o]) => o);
        if (url.searchParams.get('watch')) {
          const stream = new PassThrough();
          this.watchers.push({ collection: path, stream });
          return [200, stream, { 'content-type': 'application/json' }];
        }
        if (items.length > 0 || this.isCollectionPath(path)) return [200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items }];
        return [404, status(404, 'NotFound', `"${name}" not found`)];
      }
      case 'POST': {
        const p = `${path}/${body.metadata.name}`;
        if (this.objects.has(p)) return [409, status(409, 'AlreadyExists', `"${body.metadata.name}" already exists`)];
        const stored = { ...body, metadata: { ...body.metadata, uid: `uid-${body.metadata.name}`, resourceVersion: String(++this.rv), creationTimestamp: new Date().toISOString() } };
        this.objects.set(p, stored);
        this.notify(p, 'ADDED', stored);
        return [201, stored];
      }
      case 'PUT': {
        if (!existing) return [404, status(404, 'NotFound', `"${name}" not found`)];
        if (body.metadata.resourceVersion !== existing.metadata.resourceVersion) return [409, this.conflict(name)];
        return this.store(path, existing, this.withSubresources(path, sub, existing, body));
      }
      case 'PATCH': {
        if (!existing) return [404, status(404, 'NotFound', `"${name}" not found`)];
        let next: Obj;
        if (contentType === 'application/json-patch+json') {
          next = structuredClone(existing);
          for (const op of body as Array<{ op: string; path: string; value?: unknown }>) {
            const parts = pointerParts(op.path);
            const last = parts.pop()!;
            const parent = parts.reduce((o: any, k) => o?.[k], next);
            if (op.op === 'test' && JSON.stringify(parent?.[last]) !== JSON.stringify(op.value)) return [422, status(422, 'Invalid', `the server rejected our request due to an error in our request: test failed at ${op.path}`)];
            if (op.op === 'remove') {
              if (!parent || !(last in parent)) return [422, status(422, 'Invalid', `remove of missing ${op.path}`)];
              delete parent[last];
            }
            if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
          }
        } else if (contentType === 'application/merge-patch+json') {
          const rv = body?.metadata?.resourceVersion;
          if (rv !== undefined && rv !== existing.metadata.resourceVersion) return [409, this.conflict(name)];
          next = mergePatch(existing, body);
        } else {
          return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`)];
        }
        return this.store(path, existing, this.withSubresources(path, sub, existing, next));
      }
      default:
        return [405, status(405, 'MethodNotAllowed', method)];
    }
  }

  /**
   * What kube-apiserver keeps of an update of a resource with a status subresource (RolloutPlans):
   * through the main resource everything but `.status` (the stored status stays), through
   * `/status` only `.status` (customresource status_strategy.go PrepareForUpdate).
   */
  private withSubresources(path: string, sub: 'status' | null, existing: Obj, next: Obj): Obj {
    const system = { uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, generation: existing.metadata.generation };
    if (sub === 'status') {
      const out: Obj = { ...structuredClone(existing) };
      if (next.status === undefined) delete out.status;
      else out.status = next.status;
      return out;
    }
    const out: Obj = { ...next, metadata: { ...next.metadata, ...system } };
    if (/\/rolloutplans\//.test(path)) {
      if (existing.status === undefined) delete out.status;
      else out.status = structuredClone(existing.status);
    }
    return out;
  }

  /** Stores an update: a new resourceVersion, generation + 1 when the spec changed, a MODIFIED event. */
  private store(path: string, existing: Obj, next: Obj): [number, unknown] {
    if (JSON.stringify(next.spec) !== JSON.stringify(existing.spec)) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    next.metadata = { ...next.metadata, resourceVersion: String(++this.rv) };
    this.objects.set(path, next);
    this.notify(path, 'MODIFIED', next);
    return [200, next];
  }

  private conflict(name: string) {
    return status(409, 'Conflict', `Operation cannot be fulfilled on "${name}": the object has been modified; please apply your changes to the latest version and try again`);
  }

  private isCollectionPath(path: string): boolean {
    return /\/(rolloutplans|configmaps|events|leases)$/.test(path);
  }

  private inCollection(objectPath: string, collection: string): boolean {
    const parent = objectPath.slice(0, objectPath.lastIndexOf('/'));
    return parent === collection || parent.replace(/\/namespaces\/[^/]+/, '') === collection;
  }
}

/** What startTestController may change of a controller's options. */
export type TestControllerOptions = Partial<Parameters<typeof startInCluster>[0]>;

/**
 * A `rollgate controller` on the fake API (the kube-fixtures client): RolloutPlans of namespace
 * `learning`, Leases in `rollgate-system`, identity `rollgate-0`, /metrics and the dashboard on
 * ephemeral loopback ports, a provider whose every metric reads 0.001 (passing), watch backoffs
 * short. The Lease's renew deadline is far above a renew's duration on a loaded machine: a leader
 * that misses it stops acting by design, which only tests of that want (they pass `lease`).
 * The controller is added to `started` so the test's afterEach stops it.
 */
export async function startTestController(started: KubeController[], over: TestControllerOptions = {}): Promise<KubeController> {
  const c = await startInCluster({
    client: kubeClient(),
    log: silentLogger(),
    namespaces: ['learning'],
    leaseNamespace: 'rollgate-system',
    identity: 'rollgate-0',
    listen: { host: '127.0.0.1', port: 0 },
    env: {},
    providerFor: () => new ScriptedProvider(() => 0.001),
    lease: { durationSeconds: 5, renewEveryMs: 50, renewDeadlineMs: 4000, retryEveryMs: 50 },
    watch: { minBackoffMs: 10, maxBackoffMs: 50 },
    ...over,
  });
  started.push(c);
  return c;
}

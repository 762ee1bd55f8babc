/**
 * An in-memory Kubernetes API behind nock, for controller tests: objects by path with
 * resourceVersion and generation bookkeeping, optimistic concurrency (a PUT or patch carrying
 * a stale metadata.resourceVersion gets 409 Conflict), merge and JSON patches, the status
 * subresource, `Status` error bodies, and watch streams of newline-delimited events. Every
 * request is recorded with its method, path, content type and body.
 */
import nock from 'nock';
import { PassThrough } from 'node:stream';
import { SERVER } from '../unit/kube-fixtures.js';

export interface Recorded {
  method: string;
  path: string;
  contentType: string | undefined;
  body: any;
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
  /** Test fault injection: answer the next matching request with this instead. */
  readonly faults: Array<{ method: string; path: RegExp; code: number; reason: string; times: number }> = [];
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
        .reply(function (uri, body) {
          const url = new URL(uri, SERVER);
          const contentType = this.req.headers['content-type'] as string | undefined;
          const parsed = typeof body === 'string' && body !== '' ? JSON.parse(body) : body;
          self.requests.push({ method, path: url.pathname, contentType, body: parsed });
          return self.handle(method, url, parsed, contentType) as any;
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

  private notify(path: string, type: string, obj: Obj): void {
    const collection = path.slice(0, path.lastIndexOf('/'));
    const clusterWide = collection.replace(/\/namespaces\/[^/]+/, '');
    for (const w of this.watchers) {
      if (w.collection === collection || w.collection === clusterWide) w.stream.write(`${JSON.stringify({ type, object: obj })}\n`);
    }
  }

  private handle(method: string, url: URL, body: any, contentType: string | undefined): [number, unknown] | [number, unknown, Record<string, string>] {
    let path = url.pathname;
    const fault = this.faults.find((f) => f.method === method && f.path.test(path) && f.times > 0);
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
        const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
        this.objects.set(path, stored);
        this.notify(path, 'MODIFIED', stored);
        return [200, stored];
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
          // The status subresource takes status only; the main resource ignores status.
          next = sub ? { ...existing, status: mergePatch(existing.status, body.status ?? {}) } : mergePatch(existing, { ...body, status: undefined });
          if (!sub && body.spec) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
        } else {
          return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`)];
        }
        next.metadata = { ...next.metadata, resourceVersion: String(++this.rv) };
        this.objects.set(path, next);
        this.notify(path, 'MODIFIED', next);
        return [200, next];
      }
      default:
        return [405, status(405, 'MethodNotAllowed', method)];
    }
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

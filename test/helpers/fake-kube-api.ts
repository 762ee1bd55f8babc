/**
 * A small, faithful stand-in for the Kubernetes API server, on nock (no socket is opened): it
 * keeps namespaced objects in memory, serves GET, merge patches (RFC 7386) and JSON patches
 * (RFC 6902) the way kube-apiserver does, and answers errors with `Status` objects:
 *
 *   - every write bumps a cluster-wide resourceVersion; spec changes bump metadata.generation;
 *   - a merge patch carrying a stale metadata.resourceVersion → 409 Conflict;
 *   - a JSON patch whose `test` op fails (or whose path does not exist) → 422 Invalid, with the
 *     patch library's "testing value <path> failed: test failed" as the cause, as the apiserver
 *     does (handlers/patch.go: NewGenericServerResponse(422, ...));
 *   - an unknown object → 404 NotFound; an unknown API group → 404 from discovery;
 *   - discovery: GET /apis/<group> returns the APIGroup with its served versions.
 *   - a resource with a status subresource (`statusSubresource`): a PATCH of the object keeps
 *     the stored `.status`, a PATCH of `.../status` changes `.status` only.
 *
 * Faults are injected per verb (failNext); `onPatch` runs before a PATCH is applied, to
 * simulate a concurrent edit by another client; `admission` rewrites a patched object as a
 * mutating webhook would.
 */
import nock from 'nock';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';

export const SERVER = 'https://k8s.test:6443';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type KubeObj = { apiVersion: string; kind: string; metadata: Record<string, Json>; [k: string]: Json };

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

interface Fault {
  method: 'GET' | 'PATCH';
  code: number;
  times: number;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
    users: [{ name: 'alice', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'alice' }],
    currentContext: 'x',
  });
  return kc;
}

/** A Kubernetes `Status` object for an error. */
export function statusObject(code: number, reason: string, message: string, details: Record<string, Json> = {}): Record<string, Json> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

const REASONS: Record<number, [string, string]> = {
  403: ['Forbidden', 'User "system:serviceaccount:rollgate:rollgate" cannot perform this verb on this resource'],
  409: ['Conflict', 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again'],
  429: ['TooManyRequests', 'Too many requests, please try again later.'],
  500: ['InternalError', 'Internal error occurred: etcdserver: request timed out'],
  503: ['ServiceUnavailable', 'The server is currently unable to handle the request'],
};

class PatchFailure extends Error {
  constructor(
    readonly code: number,
    readonly body: Record<string, Json>,
  ) {
    super(String(body.message));
  }
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  /** Runs before a PATCH is applied (e.g. to edit the object as another client would). */
  onPatch: ((key: string) => void) | null = null;
  /** A mutating admission webhook: may rewrite the patched object before it is stored. */
  admission: ((obj: KubeObj) => void) | null = null;
  private readonly objects = new Map<string, KubeObj>();
  private readonly groups = new Map<string, { versions: string[]; preferred: string }>();
  /**
   * Plurals served with a status subresource (as their real definitions are): a PATCH of the
   * object ignores `.status`, a PATCH of `<object>/status` ignores everything else.
   */
  readonly statusSubresource = new Set(['ingresses', 'httproutes', 'virtualservices', 'rolloutplans']);
  private faults: Fault[] = [];
  private rv = 4000;

  constructor() {
    // Built-in groups are always served; CRD groups are added with serveGroup.
    for (const g of ['networking.k8s.io', 'coordination.k8s.io', 'events.k8s.io']) this.groups.set(g, { versions: ['v1'], preferred: 'v1' });
    const api = this;
    nock(SERVER)
      .persist()
      .get(/.*/)
      .reply(function (uri, _body, cb) {
        api.handle('GET', uri, this.req.headers['content-type'] as string | undefined, undefined, cb);
      })
      .patch(/.*/)
      .reply(function (uri, body, cb) {
        api.handle('PATCH', uri, this.req.headers['content-type'] as string | undefined, body, cb);
      });
  }

  client(): KubeClient {
    return new KubeClient(kubeConfig());
  }

  /** Stops intercepting; call in afterEach. */
  close(): void {
    nock.cleanAll();
  }

  serveGroup(group: string, versions: string[], preferred = versions[0]!): void {
    this.groups.set(group, { versions, preferred });
  }

  /** Stores an object as created by the API server (uid, resourceVersion, generation 1). */
  create(obj: { apiVersion: string; kind: string; metadata: { name: string; namespace: string; [k: string]: unknown }; [k: string]: unknown }, plural: string): KubeObj {
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0]! : '';
    const stored = structuredClone(obj) as KubeObj;
    stored.metadata = {
      ...stored.metadata,
      uid: `0b6f3c1e-${String(this.objects.size + 1).padStart(4, '0')}-4d7e-9a51-6c2b8f0e1d2a`,
      resourceVersion: this.nextRv(),
      generation: 1,
      creationTimestamp: '2025-11-03T09:00:00Z',
    };
    this.objects.set(this.key(group, plural, obj.metadata.namespace, obj.metadata.name), stored);
    return structuredClone(stored);
  }

  /** The stored object (a copy). */
  object(group: string, plural: string, namespace: string, name: string): KubeObj {
    const o = this.objects.get(this.key(group, plural, namespace, name));
    if (!o) throw new Error(`fake API: no ${plural}.${group} ${namespace}/${name}`);
    return structuredClone(o);
  }

  /** Edits an object as another client would: a new resourceVersion. */
  edit(group: string, plural: string, namespace: string, name: string, mutate: (o: KubeObj) => void): void {
    const key = this.key(group, plural, namespace, name);
    const o = this.objects.get(key);
    if (!o) throw new Error(`fake API: no ${key}`);
    mutate(o);
    o.metadata.resourceVersion = this.nextRv();
  }

  /** The next `times` requests with this verb fail with `code` (a Status object). */
  failNext(method: 'GET' | 'PATCH', code: number, times = 1): void {
    this.faults.push({ method, code, times });
  }

  /** Ends every injected fault. */
  clearFaults(): void {
    this.faults = [];
  }

  patches(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PATCH');
  }

  private key(group: string, plural: string, namespace: string, name: string): string {
    return `${group}|${plural}|${namespace}|${name}`;
  }

  private nextRv(): string {
    this.rv += 1;
    return String(this.rv);
  }

  private handle(
    method: 'GET' | 'PATCH',
    uri: string,
    contentType: string | undefined,
    rawBody: unknown,
    cb: (err: NodeJS.ErrnoException | null, result: nock.ReplyFnResult) => void,
  ): void {
    const path = uri.split('?')[0]!;
    const body = typeof rawBody === 'string' && rawBody !== '' ? JSON.parse(rawBody) : rawBody;
    this.requests.push({ method, path, contentType, body });
    const json = { 'Content-Type': 'application/json' };
    const fault = this.faults.find((f) => f.method === method && f.times > 0);
    if (fault) {
      fault.times--;
      if (fault.code === 0) {
        cb(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), [0]);
        return;
      }
      const [reason, message] = REASONS[fault.code] ?? ['InternalError', 'Internal error occurred'];
      cb(null, [fault.code, statusObject(fault.code, reason, message, fault.code === 429 ? { retryAfterSeconds: 1 } : {}), json]);
      return;
    }
    const group = /^\/apis\/([^/]+)$/.exec(path);
    if (method === 'GET' && group) {
      const g = this.groups.get(group[1]!);
      if (!g) {
        cb(null, [404, statusObject(404, 'NotFound', 'the server could not find the requested resource'), json]);
        return;
      }
      const versions = g.versions.map((v) => ({ groupVersion: `${group[1]}/${v}`, version: v }));
      cb(null, [200, { kind: 'APIGroup', apiVersion: 'v1', name: group[1]!, versions, preferredVersion: { groupVersion: `${group[1]}/${g.preferred}`, version: g.preferred } }, json]);
      return;
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)(\/status)?$/.exec(path);
    if (!m) {
      cb(null, [404, statusObject(404, 'NotFound', 'the server could not find the requested resource'), json]);
      return;
    }
    const [, coreVersion, grp = '', version = coreVersion!, namespace, plural, name, statusPath] = m as unknown as [string, string | undefined, string | undefined, string | undefined, string, string, string, string | undefined];
    const hasStatus = this.statusSubresource.has(plural);
    if ((grp !== '' && (!this.groups.has(grp) || !this.groups.get(grp)!.versions.includes(version))) || (statusPath && !hasStatus)) {
      cb(null, [404, statusObject(404, 'NotFound', 'the server could not find the requested resource'), json]);
      return;
    }
    const key = this.key(grp, plural, decodeURIComponent(namespace), decodeURIComponent(name));
    const resource = grp ? `${plural}.${grp}` : plural;
    const stored = this.objects.get(key);
    if (!stored) {
      cb(null, [404, statusObject(404, 'NotFound', `${resource} "${decodeURIComponent(name)}" not found`, { name: decodeURIComponent(name), group: grp, kind: plural }), json]);
      return;
    }
    const served = () => ({ ...structuredClone(stored), apiVersion: grp ? `${grp}/${version}` : version });
    if (method === 'GET') {
      cb(null, [200, served(), json]);
      return;
    }
    this.onPatch?.(key);
    const current = this.objects.get(key)!;
    try {
      let next: KubeObj;
      if (contentType === 'application/merge-patch+json') {
        const wantRv = (body as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
        if (wantRv !== undefined && wantRv !== current.metadata.resourceVersion) {
          throw new PatchFailure(
            409,
            statusObject(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, {
              name: current.metadata.name as string,
              group: grp,
              kind: plural,
            }),
          );
        }
        next = mergePatch(structuredClone(current), body) as KubeObj;
      } else if (contentType === 'application/json-patch+json') {
        next = jsonPatch(structuredClone(current) as Json, body as JsonOp[]) as KubeObj;
      } else {
        throw new PatchFailure(415, statusObject(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`));
      }
      // With a status subresource, the main resource ignores .status and /status everything else.
      if (statusPath) {
        const status = next.status;
        next = structuredClone(current);
        if (status === undefined) delete next.status;
        else next.status = status;
      } else if (hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
      this.admission?.(next);
      // System fields stay the server's.
      next.metadata = { ...next.metadata, uid: current.metadata.uid!, name: current.metadata.name!, namespace: current.metadata.namespace!, creationTimestamp: current.metadata.creationTimestamp! };
      if (!deepEqual(next, current)) {
        if (!deepEqual(next.spec ?? null, current.spec ?? null)) next.metadata.generation = (current.metadata.generation as number) + 1;
        next.metadata.resourceVersion = this.nextRv();
      } else {
        next.metadata.resourceVersion = current.metadata.resourceVersion!;
      }
      this.objects.set(key, next);
      cb(null, [200, { ...structuredClone(next), apiVersion: grp ? `${grp}/${version}` : version }, json]);
    } catch (err) {
      if (err instanceof PatchFailure) cb(null, [err.code, err.body, json]);
      else throw err;
    }
  }
}

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export interface JsonOp {
  op: string;
  path: string;
  value?: Json;
}

function invalid(detail: string): PatchFailure {
  return new PatchFailure(
    422,
    statusObject(422, 'Invalid', 'the server rejected our request due to an error in our request', { causes: [{ reason: 'UnexpectedServerResponse', message: detail }] }),
  );
}

/** RFC 6902 (add, remove, replace, test), failing like evanphx/json-patch inside the apiserver. */
export function jsonPatch(doc: Json, ops: JsonOp[]): Json {
  if (!Array.isArray(ops)) throw new PatchFailure(400, statusObject(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
  for (const op of ops) {
    const tokens = op.path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop();
    if (last === undefined) throw invalid(`${op.op} operation does not apply: doc is missing path: "${op.path}"`);
    let parent: Json = doc;
    for (const t of tokens) {
      const child: Json | undefined = Array.isArray(parent) ? parent[Number(t)] : parent !== null && typeof parent === 'object' ? (parent as Record<string, Json>)[t] : undefined;
      if (child === undefined || child === null || typeof child !== 'object') throw invalid(`${op.op} operation does not apply: doc is missing path: "${op.path}": missing value`);
      parent = child;
    }
    const container = parent as Record<string, Json> | Json[];
    const has = Array.isArray(container) ? Number(last) >= 0 && Number(last) < container.length : Object.prototype.hasOwnProperty.call(container, last);
    switch (op.op) {
      case 'test':
        if (!has || !deepEqual((container as Record<string, Json>)[last as never], op.value ?? null)) throw invalid(`testing value ${op.path} failed: test failed`);
        break;
      case 'add':
        if (Array.isArray(container)) {
          if (last === '-') container.push(op.value ?? null);
          else if (Number(last) <= container.length) container.splice(Number(last), 0, op.value ?? null);
          else throw invalid(`add operation does not apply: doc is missing path: "${op.path}": missing value`);
        } else container[last] = op.value ?? null;
        break;
      case 'replace':
        if (!has) throw invalid(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
        if (Array.isArray(container)) container[Number(last)] = op.value ?? null;
        else container[last] = op.value ?? null;
        break;
      case 'remove':
        if (!has) throw invalid(`remove operation does not apply: doc is missing path: "${op.path}": missing value`);
        if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      default:
        throw new PatchFailure(400, statusObject(400, 'BadRequest', `Unexpected kind: ${op.op}`));
    }
  }
  return doc;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

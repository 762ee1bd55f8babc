/**
 * The read-patch-verify cycle shared by the routers that steer traffic through a Kubernetes
 * object (ingress-nginx, gateway-api, smi, istio):
 *
 *   1. GET the live object (5xx/429/network faults retried with backoff, p-retry);
 *   2. locate the parts the router owns; a missing rule/route/backend is a RouterError naming it;
 *   3. if the object already carries the wanted split, stop: no write (idempotent);
 *   4. PATCH only the owned fields, guarded by an optimistic check (a JSON patch `test` op on the
 *      owned content, or `metadata.resourceVersion` in a merge patch);
 *   5. a concurrent edit (409 Conflict, or 422 from a failed `test` op) → re-read → retry (bounded);
 *   6. verify the split in the PATCH response; a server that rewrote it is an error.
 *
 * The split arrives in range and rounded to what the router can express (split-guard.ts). Every
 * failure is a RouterError naming the object; the engine then holds and retries later.
 */
import pRetry from 'p-retry';
import { KubeApiError, type KubeClient, type PatchType } from '../kube/client.js';
import type { Logger } from '../support/log.js';
import { round6 } from './precision.js';
import { formatSplit } from './split-guard.js';
import { RouterError, sameSplit, type Split, type TrafficRouter } from '../core/router.js';
import type { RouterContext } from './descriptor.js';

/** A namespaced object as the API returns it; routers read the rest through their own views. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: unknown;
  [k: string]: unknown;
}

/** Where the object lives: its API group (empty for core), resource plural, namespace and name. */
export interface KubeObjectRef {
  kind: string;
  group: string;
  plural: string;
  namespace: string;
  name: string;
  /** Versions this router understands, most preferred first. */
  versions: readonly string[];
  /** Whether the group is a CRD whose served versions are discovered (GET /apis/<group>). */
  discover: boolean;
}

export interface KubeRetryOptions {
  /** Retries of one GET or PATCH on 5xx, 429 and network faults. */
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Re-read and re-patch rounds after concurrent edits (409, failed `test`). */
  conflictRetries: number;
}

export const DEFAULT_KUBE_RETRY: KubeRetryOptions = { retries: 4, minTimeoutMs: 250, maxTimeoutMs: 4_000, conflictRetries: 5 };

export interface KubePatch {
  type: PatchType;
  body: unknown;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/**
 * Integer weights for a canary share, exact to 0.01 %: a total of 100 for whole percentages
 * (readable `90/10`), else 10000 (`9950/50` for 0.5 %).
 */
export function shareToWeights(percent: number): { stable: number; canary: number; total: number } {
  const hundredths = Math.round(percent * 100);
  if (hundredths % 100 === 0) return { canary: hundredths / 100, stable: 100 - hundredths / 100, total: 100 };
  return { canary: hundredths, stable: 10_000 - hundredths, total: 10_000 };
}

/** The canary's share from two relative weights, or null when both are 0 (no share defined). */
export function weightsToShare(stable: number, canary: number): number | null {
  const total = stable + canary;
  return total > 0 ? round6((canary * 100) / total) : null;
}

/** The RouterContext's KubeClient, or the clear error for a controller without one. */
export function requireKube(router: string, target: string, ctx: RouterContext): KubeClient {
  if (!ctx.kube) {
    throw new RouterError(router, target, `router ${router} needs a Kubernetes API: run rollgate controller, or rollgate run with a kubeconfig`);
  }
  return ctx.kube;
}

function isConcurrentEdit(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return false;
  if (err.conflict) return true;
  // A JSON patch whose `test` op no longer holds: the apiserver answers 422 Invalid with the
  // patch library's "testing value <path> failed" in the message or causes.
  if (err.code !== 422) return false;
  const text = JSON.stringify(err.status ?? {});
  return /testing value .* failed|test failed/i.test(text);
}

/** A router that keeps the canary's share in one Kubernetes object. */
export abstract class KubeRouter<View> implements TrafficRouter {
  abstract readonly name: string;
  readonly target: string;
  private version: string | null = null;

  constructor(
    protected readonly kube: KubeClient,
    protected readonly ref: KubeObjectRef,
    protected readonly log: Logger,
    protected readonly retry: KubeRetryOptions = DEFAULT_KUBE_RETRY,
  ) {
    this.target = `${ref.kind} ${ref.namespace}/${ref.name}`;
  }

  /** Finds the owned parts in the live object; throws (via this.fail) when one is missing. */
  protected abstract locate(obj: KubeObject): View;
  /** The split the object carries, or null when it has never been set. */
  protected abstract splitOf(view: View): Split | null;
  /** The patch that sets the split, touching only the owned fields, with its optimistic check. */
  protected abstract patchFor(view: View, obj: KubeObject, want: Split): KubePatch;

  protected fail(message: string, cause?: unknown): never {
    throw new RouterError(this.name, this.target, message, cause === undefined ? undefined : { cause });
  }

  async read(): Promise<Split | null> {
    const obj = await this.fetch();
    return this.splitOf(this.locate(obj));
  }

  /** Sets `want`, a split the router can express (split-guard.ts rounds it first). */
  async apply(want: Split): Promise<Split> {
    for (let round = 0; round <= this.retry.conflictRetries; round++) {
      const obj = await this.fetch();
      const view = this.locate(obj);
      const current = this.splitOf(view);
      if (current && sameSplit(current, want)) return current;
      const patch = this.patchFor(view, obj, want);
      let updated: KubeObject;
      try {
        updated = await this.call('PATCH', () => this.kube.patch<KubeObject>(this.path(), patch.body, patch.type));
      } catch (err) {
        if (isConcurrentEdit(err)) {
          this.log.warn({ router: this.name, target: this.target, round: round + 1 }, `${this.target} changed while rollgate was patching it; re-reading`);
          continue;
        }
        throw this.translate(err, 'PATCH');
      }
      const after = this.splitOf(this.locate(updated));
      if (!after || !sameSplit(after, want)) {
        this.fail(
          `the API accepted the patch but ${this.target} now carries ${formatSplit(after)} instead of ${formatSplit(want)} (an admission webhook or another controller may be rewriting it)`,
        );
      }
      return after;
    }
    return this.fail(`${this.target} changed under rollgate ${this.retry.conflictRetries + 1} times in a row (409/failed test); giving up for now`);
  }

  /** The object's API path, once its version is known. */
  protected path(): string {
    const { group, plural, namespace, name } = this.ref;
    const gv = group === '' ? `/api/${this.version}` : `/apis/${group}/${this.version}`;
    return `${gv}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`;
  }

  private async fetch(): Promise<KubeObject> {
    await this.resolveVersion();
    try {
      return await this.call('GET', () => this.kube.get<KubeObject>(this.path()));
    } catch (err) {
      throw this.translate(err, 'GET');
    }
  }

  /** Picks the served version: the group's preferred one if understood, else the first understood. */
  private async resolveVersion(): Promise<void> {
    if (this.version) return;
    const { group, versions, discover } = this.ref;
    if (!discover) {
      this.version = versions[0]!;
      return;
    }
    let apiGroup: { preferredVersion?: { version?: string }; versions?: Array<{ version?: string }> };
    try {
      apiGroup = await this.call('GET', () => this.kube.get(`/apis/${group}`));
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) {
        this.fail(`the API group ${group} is not served by this cluster: is the ${this.ref.kind} CRD installed?`, err);
      }
      throw this.translate(err, 'GET');
    }
    const served = (apiGroup.versions ?? []).map((v) => v.version).filter((v): v is string => typeof v === 'string');
    const preferred = apiGroup.preferredVersion?.version;
    const pick = preferred && versions.includes(preferred) ? preferred : versions.find((v) => served.includes(v));
    if (!pick) {
      this.fail(`the cluster serves ${group} versions ${served.join(', ') || '(none)'}; rollgate understands ${versions.join(', ')}`);
    }
    this.version = pick;
  }

  /** One API call, retried with exponential backoff on transient faults only. */
  private async call<T>(verb: 'GET' | 'PATCH', fn: () => Promise<T>): Promise<T> {
    try {
      return await pRetry(fn, {
        retries: this.retry.retries,
        factor: 2,
        minTimeout: this.retry.minTimeoutMs,
        maxTimeout: this.retry.maxTimeoutMs,
        shouldRetry: ({ error }) => error instanceof KubeApiError && error.transient,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (error instanceof KubeApiError && error.transient && retriesLeft > 0) {
            this.log.warn({ router: this.name, target: this.target, attempt: attemptNumber, retriesLeft, code: error.code }, `Kubernetes API ${verb} failed, retrying: ${error.message}`);
          }
        },
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.transient) {
        throw new KubeApiError(err.method, err.path, err.code, `${err.reason} (gave up after ${this.retry.retries + 1} attempts)`, err.status);
      }
      throw err;
    }
  }

  private translate(err: unknown, verb: 'GET' | 'PATCH'): RouterError {
    if (err instanceof RouterError) return err;
    if (!(err instanceof KubeApiError)) return new RouterError(this.name, this.target, `${verb} failed: ${(err as Error).message}`, { cause: err });
    const { kind, group, plural, namespace, name } = this.ref;
    const resource = group ? `${plural}.${group}` : plural;
    if (err.notFound) return new RouterError(this.name, this.target, `${kind} ${namespace}/${name} not found`, { cause: err });
    if (err.code === 401) return new RouterError(this.name, this.target, `the Kubernetes API refused rollgate's credentials (401) on ${verb} ${kind} ${namespace}/${name}`, { cause: err });
    if (err.code === 403) {
      return new RouterError(this.name, this.target, `forbidden to ${verb === 'GET' ? 'get' : 'patch'} ${kind} ${namespace}/${name}: rollgate needs get and patch on ${resource} (RBAC)`, { cause: err });
    }
    return new RouterError(this.name, this.target, `Kubernetes API ${err.message}`, { cause: err });
  }
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease (`rollgate-controller` in the
 * controller's namespace, or one Lease per shard: shard-leases.ts), so that exactly one replica
 * acts on the rollouts the Lease covers.
 *
 * - acquire: create the Lease, or take it over when it is free (no holder) or expired; a
 *   Lease is expired when its holder has not renewed it for leaseDurationSeconds as observed
 *   on this replica's own clock (the time we first saw its current renewTime), so clock skew
 *   between replicas does not matter.
 * - renew every `renewEveryMs` (5 s) with a PUT guarded by resourceVersion.
 * - lose: a renew that finds another holder, or no successful renew for `renewDeadlineMs`
 *   (10 s, shorter than the 15 s lease). `isLeader()` turns false by itself once the deadline
 *   passes, even if the renew loop is stuck, so a leader stops acting before its Lease can
 *   expire and another replica can take over.
 * - release (clean stop): clear holderIdentity, so a standby takes over at its next try
 *   instead of waiting for expiry; guarded by resourceVersion, so never someone else's Lease.
 */
import { hostname } from 'node:os';
import { KubeApiError, type KubeClient } from './client.js';
import type { Logger } from '../support/log.js';
import { leasePath } from './objects.js';
import { formatSpan } from '../support/human-time.js';

export const LEASE_NAME = 'rollgate-controller';

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  identity: string;
  log: Logger;
  name?: string;
  leaseDurationSeconds?: number;
  renewEveryMs?: number;
  renewDeadlineMs?: number;
  /** How often a standby tries to acquire. Default renewEveryMs. */
  retryEveryMs?: number;
  /**
   * Asked before each try to acquire (not before a renew): false skips the try, so a replica
   * holding its share of shard Leases leaves the others to other replicas (shard-leases.ts).
   */
  mayAcquire?: () => boolean;
  now?: () => number;
  onStartedLeading?: () => void;
  onStoppedLeading?: (why: string) => void;
}

/** This replica's identity: the pod name (POD_NAME), else hostname and pid. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME || `${hostname()}_${process.pid}`;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private lastRenew = 0;
  private observed: { holder: string; renewTime: string; at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lease: Lease | null = null;
  private trying = false;
  readonly name: string;
  private readonly now: () => number;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.name = opts.name ?? LEASE_NAME;
    this.now = opts.now ?? Date.now;
  }

  get identity(): string {
    return this.opts.identity;
  }

  private get durationMs(): number {
    return (this.opts.leaseDurationSeconds ?? 15) * 1000;
  }

  private get deadlineMs(): number {
    return this.opts.renewDeadlineMs ?? 10_000;
  }

  /** Leading, and renewed within the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.now() - this.lastRenew < this.deadlineMs;
  }

  /** Holds the Lease or is trying to acquire it right now (what counts against a cap on Leases held). */
  claims(): boolean {
    return this.leading || this.trying;
  }

  /** Runs tryAcquireOrRenew now and then every renew period until stop(). */
  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick();
      await this.running;
      if (this.stopped) return;
      const every = this.leading ? (this.opts.renewEveryMs ?? 5_000) : (this.opts.retryEveryMs ?? this.opts.renewEveryMs ?? 5_000);
      this.timer = setTimeout(() => void loop(), every);
    };
    void loop();
  }

  /** One round: acquire, renew, or notice the loss. Never throws. */
  async tick(): Promise<void> {
    if (!this.leading && this.opts.mayAcquire && !this.opts.mayAcquire()) return;
    this.trying = !this.leading;
    try {
      await this.round();
    } finally {
      this.trying = false;
    }
  }

  private async round(): Promise<void> {
    const { log } = this.opts;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = this.now();
        if (!this.leading) {
          this.leading = true;
          log.info({ lease: `${this.opts.namespace}/${this.name}`, identity: this.identity }, `became the leader (lease ${this.opts.namespace}/${this.name})`);
          this.opts.onStartedLeading?.();
        }
        return;
      }
      if (this.leading) this.lose(`lease ${this.opts.namespace}/${this.name} is held by ${this.lease?.spec.holderIdentity ?? 'another replica'}`);
    } catch (err) {
      log.warn({ lease: `${this.opts.namespace}/${this.name}`, err: (err as Error).message }, `lease ${this.opts.namespace}/${this.name}: ${this.leading ? 'renew' : 'acquire'} failed`);
    }
    if (this.leading && !this.isLeader()) this.lose(`could not renew lease ${this.opts.namespace}/${this.name} within ${formatSpan(this.deadlineMs)}`);
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.log.warn({ lease: `${this.opts.namespace}/${this.name}`, identity: this.identity }, `stopped leading: ${why}`);
    this.opts.onStoppedLeading?.(why);
  }

  /** True when this replica holds the Lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace } = this.opts;
    const now = this.now();
    const desired = (prev: Lease | null): Lease['spec'] => {
      const ours = prev?.spec.holderIdentity === this.identity;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 15,
        acquireTime: ours && prev?.spec.acquireTime ? prev.spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (prev?.spec.leaseTransitions ?? 0) + (prev && !ours && prev.spec.holderIdentity ? 1 : 0),
      };
    };
    let lease: Lease | null = null;
    try {
      lease = await client.get<Lease>(leasePath(namespace, this.name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    if (!lease) {
      try {
        this.lease = await client.post<Lease>(leasePath(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace },
          spec: desired(null),
        });
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.conflict) return false; // another replica created it first
        throw err;
      }
    }
    this.lease = lease;
    const holder = lease.spec.holderIdentity ?? '';
    if (holder && holder !== this.identity) {
      // Someone else: take over only once it has not renewed for a whole lease duration.
      const renewTime = lease.spec.renewTime ?? '';
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: now };
      }
      const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
      if (now - this.observed.at < duration) return false;
      this.opts.log.info({ lease: `${namespace}/${this.name}`, previous: holder }, `lease ${namespace}/${this.name} of ${holder} expired; taking over`);
    }
    try {
      this.lease = await client.put<Lease>(leasePath(namespace, this.name), { ...lease, spec: { ...lease.spec, ...desired(lease) } });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) return false;
      throw err;
    }
  }

  /**
   * Stops the loop; when leading, releases the Lease (holderIdentity cleared) so a standby
   * takes over without waiting for expiry. Call after everything that acts has stopped.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    const wasLeading = this.leading;
    this.leading = false;
    if (!wasLeading || opts.release === false || !this.lease) return;
    const lease = this.lease;
    try {
      await this.opts.client.put<Lease>(leasePath(this.opts.namespace, this.name), {
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: null, renewTime: microTime(this.now()) },
      });
      this.opts.log.info({ lease: `${this.opts.namespace}/${this.name}` }, `released lease ${this.opts.namespace}/${this.name}`);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, `could not release lease ${this.opts.namespace}/${this.name}; it expires in ${formatSpan(this.durationMs)}`);
    }
    this.opts.onStoppedLeading?.('stopping');
  }
}

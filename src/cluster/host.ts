/**
 * The in-cluster controller (`rollgate controller`): the cluster mode around the RolloutHost
 * that `rollgate run` uses too. RolloutPlans from the API (list + watch) are its plan source,
 * a ConfigMap per rollout its journal, status and one Event per decision its sink; manual
 * requests come through an annotation, and Leases decide who acts on which rollout.
 *
 * The RolloutPlans are split over `shards` shard Leases (shards.ts: the shard of a plan is a
 * consistent hash of namespace/name; ../kube/shard-leases.ts: the Leases and how many one
 * replica holds). With one shard (the default) that is plain leader election on the Lease
 * `rollgate-controller`. Every replica watches every RolloutPlan and serves /healthz, /readyz
 * (ready once the RolloutPlans are listed, holding shards or not) and /metrics
 * (`rollgate_leader` 1 while it holds a shard). A replica runs the rollouts of the shards it
 * holds, and only those: each term of a shard Lease has its own RolloutHost, started when the
 * Lease is acquired and stopped when it is lost; the journal, the routers and status writes
 * are fenced on that shard's Lease (fence.ts), so after losing it no step still under way can
 * journal a decision or move traffic. Manual requests, status and Events of a plan come from
 * the replica holding its shard.
 *
 * With `dashboard`, the replica also serves the read-only dashboard of the rollouts it runs
 * (those of the shards it holds) on that separate address, loopback by default in the CLI.
 */
import type { Clock } from '../core/clock.js';
import { RealClock } from '../core/clock.js';
import { ControllerMetrics } from '../observe/metrics.js';
import { startHttpServer, type HttpServer } from '../observe/server.js';
import { logManual } from '../observe/rollout-log.js';
import { loadPlanObject, type LoadedPlan } from '../plan/load.js';
import { RolloutHost, type ControllerOptions, type HostedRollout, type RolloutIo } from '../host/rollout-host.js';
import type { KubeClient } from '../kube/client.js';
import { EventRecorder } from './events.js';
import { fenceJournal, fenceRouter } from './fence.js';
import { Informer } from '../kube/informer.js';
import { ConfigMapJournal } from './kube-journal.js';
import { defaultIdentity } from '../kube/leader.js';
import { ShardLeases, shardLeaseName } from '../kube/shard-leases.js';
import { shardOf } from './shards.js';
import { requestOf, takeRequest, type KubeRequest } from './requests.js';
import { REQUEST_ANNOTATION, RESOURCE_API_VERSION, RESOURCE_KIND, rolloutPlansPath, type LastRequest, type RolloutPlanObject } from './rolloutplans.js';
import { objectKey } from '../kube/objects.js';
import { buildStatus, StatusWriter } from './status.js';
import type { RolloutRunner } from '../engine/rollout.js';
import { LiveDashboard, type LiveRollout } from '../dashboard/live.js';
import { DashboardRoutes } from '../dashboard/routes.js';

export interface KubeControllerOptions extends ControllerOptions {
  client: KubeClient;
  /** Namespaces to watch; empty or absent: all (cluster-wide list and watch). */
  namespaces?: string[];
  /** Namespace of the Leases (`rollgate-controller`, or `rollgate-controller-shard-<i>`). */
  leaseNamespace: string;
  /** How many shard Leases the RolloutPlans are split over. Default 1 (the Lease `rollgate-controller`). */
  shards?: number;
  /** Shard Leases this replica holds at most. Default: all. */
  maxShardsPerReplica?: number;
  /** This replica's holderIdentity; default POD_NAME, else hostname_pid. */
  identity?: string;
  lease?: { durationSeconds?: number; renewEveryMs?: number; renewDeadlineMs?: number; retryEveryMs?: number; now?: () => number };
  watch?: { minBackoffMs?: number; maxBackoffMs?: number; silenceMs?: number };
  journal?: { maxBytes?: number };
  /** Where the dashboard listens (a separate server from `listen`); absent or null: no dashboard. */
  dashboard?: { host: string; port: number } | null;
}

/** What the cluster mode keeps about a rollout it runs: its RolloutPlan and the last request answered. */
interface PlanObject {
  obj: RolloutPlanObject;
  lastRequest?: LastRequest;
}

type Managed = HostedRollout<PlanObject>;

/** A request taken from the annotation: to run, or to refuse with `error`. */
type ClaimedRequest = { ok: true; request: KubeRequest } | { ok: false; id: string; error: string };

/** One term of a shard Lease: its own host (and Scheduler), started when the Lease is acquired. */
interface Term {
  shard: number;
  host: RolloutHost<PlanObject>;
}

export class KubeController {
  readonly metrics = new ControllerMetrics();
  readonly journal: ConfigMapJournal;
  readonly events: EventRecorder;
  readonly status: StatusWriter;
  readonly leases: ShardLeases;
  /** This replica's holderIdentity. */
  readonly identity: string;
  readonly informers: Informer<RolloutPlanObject>[];
  private readonly clock: Clock;
  private readonly reported = new Map<string, string>();
  /** Why the spec of a RolloutPlan that has no rollout running cannot be run (manual requests are refused with it). */
  private readonly invalid = new Map<string, string>();
  private readonly queues = new Map<string, Promise<void>>();
  /** The terms of the shards this replica holds. */
  private readonly terms = new Map<number, Term>();
  private server: HttpServer | null = null;
  private dashboardServer: HttpServer | null = null;
  private readonly dashboard: LiveDashboard | null;
  private stopping = false;

  private constructor(private readonly opts: KubeControllerOptions) {
    const { client, log } = opts;
    this.clock = opts.clock ?? new RealClock();
    const identity = (this.identity = opts.identity ?? defaultIdentity(opts.env));
    this.journal = new ConfigMapJournal({ client, log, ...(opts.journal?.maxBytes ? { maxBytes: opts.journal.maxBytes } : {}) });
    this.events = new EventRecorder({ client, log, instance: identity });
    this.status = new StatusWriter({ client, log, allowed: (namespace, name) => this.owns(`${namespace}/${name}`) });
    const l = opts.lease ?? {};
    this.leases = new ShardLeases({
      client,
      log,
      identity,
      namespace: opts.leaseNamespace,
      shards: opts.shards ?? 1,
      ...(opts.maxShardsPerReplica ? { maxPerReplica: opts.maxShardsPerReplica } : {}),
      ...(l.durationSeconds ? { leaseDurationSeconds: l.durationSeconds } : {}),
      ...(l.renewEveryMs ? { renewEveryMs: l.renewEveryMs } : {}),
      ...(l.renewDeadlineMs ? { renewDeadlineMs: l.renewDeadlineMs } : {}),
      ...(l.retryEveryMs ? { retryEveryMs: l.retryEveryMs } : {}),
      ...(l.now ? { now: l.now } : {}),
      onAcquired: (shard) => this.startTerm(shard),
      onLost: (shard) => void this.stopTerm(shard),
    });
    this.dashboard = opts.dashboard ? this.liveDashboard() : null;
    const namespaces = opts.namespaces?.length ? opts.namespaces : [undefined];
    this.informers = namespaces.map(
      (ns) =>
        new Informer<RolloutPlanObject>(
          client,
          { path: rolloutPlansPath(ns), log, ...opts.watch },
          {
            onAdd: (o) => this.enqueue(objectKey(o)),
            onUpdate: (o) => this.enqueue(objectKey(o)),
            onDelete: (o) => this.enqueue(objectKey(o)),
            onSynced: () => this.informer().forEach((o) => this.enqueue(objectKey(o))),
          },
        ),
    );
  }

  /** Serves the endpoints, starts watching and campaigning for the shard Leases. */
  static async start(opts: KubeControllerOptions): Promise<KubeController> {
    const c = new KubeController(opts);
    if (opts.listen !== null) {
      c.server = await startHttpServer({
        ...(opts.listen ?? { host: '0.0.0.0', port: 9464 }),
        metrics: c.metrics,
        ready: () => (c.synced() ? { ok: true } : { ok: false, reason: 'starting: listing RolloutPlans' }),
        log: opts.log,
      });
      opts.log.info({ url: c.server.url }, `serving /metrics, /healthz and /readyz on ${c.server.url}`);
    }
    if (opts.dashboard && c.dashboard) {
      try {
        c.dashboardServer = await startHttpServer({ ...opts.dashboard, routes: [new DashboardRoutes(c.dashboard)], log: opts.log });
      } catch (err) {
        await c.server?.close();
        throw err;
      }
      opts.log.info({ dashboard: c.dashboardServer.url }, `serving the dashboard on ${c.dashboardServer.url}`);
    }
    for (const i of c.informers) i.start();
    c.leases.start();
    return c;
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  /** The dashboard's address, when it is served. */
  get dashboardUrl(): string | null {
    return this.dashboardServer?.url ?? null;
  }

  /** The dashboard of the rollouts this replica runs; their records are those of the journal ConfigMaps as last read or written. */
  private liveDashboard(): LiveDashboard {
    const view = (m: Managed): LiveRollout => ({ id: m.runner.id, plan: m.loaded.plan, state: m.runner.state });
    const source = {
      rollouts: () => [...this.terms.values()].flatMap((t) => t.host.all().map(view)),
      get: (id: string) => {
        const m = this.termOf(id)?.host.get(id);
        return m ? view(m) : undefined;
      },
      records: async (id: string, limit: number) => {
        const records = this.journal.recent(id, limit);
        const total = Object.values(this.journal.counts(id)).reduce((a, b) => a + b, 0);
        return { records, omitted: Math.max(0, total - records.length) };
      },
    };
    return new LiveDashboard(source, { log: this.opts.log, now: () => this.clock.now() });
  }

  /** Holds at least one shard Lease (the Lease, with one shard). */
  isLeader(): boolean {
    return !this.stopping && this.leases.held().length > 0;
  }

  /** The shards this replica holds. */
  heldShards(): number[] {
    return this.stopping ? [] : this.leases.held();
  }

  /** The shard of a rollout `namespace/name`. */
  shardOf(key: string): number {
    return shardOf(key, this.leases.shards);
  }

  /** This replica holds the Lease of `shard`. */
  private holds(shard: number): boolean {
    return !this.stopping && this.leases.holds(shard);
  }

  /** This replica holds the shard of the rollout `namespace/name`: it alone acts on it. */
  owns(key: string): boolean {
    return this.holds(this.shardOf(key));
  }

  synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  runner(key: string): RolloutRunner | undefined {
    return this.termOf(key)?.host.get(key)?.runner;
  }

  /** The term of the shard of `key`, when this replica holds it. */
  private termOf(key: string): Term | undefined {
    return this.terms.get(this.shardOf(key));
  }

  /** Every RolloutPlan the informers hold. */
  private informer(): RolloutPlanObject[] {
    return this.informers.flatMap((i) => i.list());
  }

  private lookup(key: string): RolloutPlanObject | undefined {
    for (const i of this.informers) {
      const o = i.get(key);
      if (o) return o;
    }
    return undefined;
  }

  /** Reconciles `key` after every earlier reconcile of it; always against the newest object. */
  private enqueue(key: string): Promise<void> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(key)).catch((err: unknown) => this.opts.log.error({ rollout: key, err: (err as Error).message }, 'reconcile failed'));
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  /** Waits until every queued reconcile has run (tests). */
  async settled(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private startTerm(shard: number): void {
    this.metrics.setLeader(true);
    const { opts } = this;
    const holds = () => this.holds(shard);
    const host = new RolloutHost<PlanObject>({
      log: opts.log,
      clock: this.clock,
      journal: fenceJournal(this.journal, holds),
      metrics: this.metrics,
      routerFor: (loaded) => fenceRouter(opts.routerFor(loaded), holds),
      ...(opts.providerFor ? { providerFor: opts.providerFor } : {}),
      ...(opts.queryPool ? { queryPool: opts.queryPool } : {}),
      ...(opts.prometheus ? { prometheus: opts.prometheus } : {}),
      ...(opts.driftCheckMs !== undefined ? { driftCheckMs: opts.driftCheckMs } : {}),
      ...(this.dashboard ? { listener: this.dashboard } : {}),
      onDecision: (key, r, _state, meta) => {
        void this.events.emit(this.events.decisionEvent(meta.obj, r));
        this.writeStatus(key);
      },
      onGuardStrikes: (key) => void this.writeStatus(key),
    });
    void host.run().catch(() => undefined); // logged by the host
    this.terms.set(shard, { shard, host });
    for (const o of this.informer()) {
      const key = objectKey(o);
      if (this.shardOf(key) !== shard) continue;
      this.journal.forget(key); // another replica may have written since this one last read
      void this.enqueue(key);
    }
  }

  /** Stops acting on a shard: its term's scheduler stops; runners are dropped (a new term replays journals). */
  private async stopTerm(shard: number): Promise<void> {
    const term = this.terms.get(shard);
    this.terms.delete(shard);
    this.metrics.setLeader(this.terms.size > 0);
    if (!term) return;
    term.host.stop();
    for (const m of term.host.all()) this.unmanage(term, m);
    await term.host.drain();
  }

  private async reconcile(key: string): Promise<void> {
    const term = this.termOf(key);
    if (!term || !this.holds(term.shard)) return;
    const obj = this.lookup(key);
    const m = term.host.get(key);
    if (!obj) {
      if (m) {
        this.opts.log.info({ rollout: key }, `rolloutplan deleted: no longer managed (its journal ConfigMap and the split are left as they are)`);
        this.unmanage(term, m);
      }
      return;
    }
    this.status.observe(obj);
    const current = await this.manage(term, key, obj);
    if (current) await this.handleRequest(term, key, current);
    else if (this.terms.get(term.shard) === term && this.invalid.has(key)) await this.refuseRequest(key, obj, this.invalid.get(key)!);
  }

  private unmanage(term: Term, m: Managed): void {
    const key = m.runner.id;
    term.host.unmanage(key);
    this.status.forget(m.meta.obj.metadata.namespace ?? 'default', m.meta.obj.metadata.name);
    this.journal.forget(key);
  }

  /** Starts or updates the rollout of `obj`; an invalid spec is an InvalidPlan Event and changes nothing. */
  private async manage(term: Term, key: string, obj: RolloutPlanObject): Promise<Managed | null> {
    const { log } = this.opts;
    const { host } = term;
    const res = loadPlanObject(obj, `rolloutplan ${key}`, { ...(this.opts.env ? { env: this.opts.env } : {}), ...(this.opts.prometheus ? { prometheus: this.opts.prometheus } : {}) });
    const running = host.get(key);
    if (running && obj.metadata.uid && running.meta.obj.metadata.uid !== obj.metadata.uid) {
      // Deleted and created again under the same name (the deletion fell in a watch gap):
      // a new rollout, not a change of the old one.
      log.info({ rollout: key, uid: obj.metadata.uid, previousUid: running.meta.obj.metadata.uid }, `rolloutplan was deleted and created again (uid ${obj.metadata.uid}): the old rollout is let go, the new one starts from its own journal`);
      this.unmanage(term, running);
    }
    const existing = host.get(key);
    this.invalid.delete(key);
    if (!res.loaded) {
      const text = res.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`).join('; ');
      this.reportInvalid(obj, key, text, existing ? 'the previous spec stays in force' : 'nothing is applied');
      if (existing) existing.meta.obj = obj;
      else this.invalid.set(key, text);
      return existing ?? null;
    }
    for (const d of res.diagnostics) log.warn({ rollout: key }, `${d.path}: ${d.message}`);
    const loaded = res.loaded;
    if (existing) {
      existing.meta.obj = obj;
      if (existing.loaded.hash === loaded.hash) return existing;
      const io = this.io(host, loaded);
      if (!io) return existing;
      await host.update(key, loaded, io);
      this.writeStatus(key);
      return existing;
    }
    const io = this.io(host, loaded);
    if (!io) return null;
    if (obj.metadata.uid) this.journal.own(key, { apiVersion: RESOURCE_API_VERSION, kind: RESOURCE_KIND, name: obj.metadata.name, uid: obj.metadata.uid });
    const managed = await host.manage(loaded, { obj, ...(obj.status?.lastRequest ? { lastRequest: obj.status.lastRequest } : {}) }, {
      io,
      onOpened: ({ runner }) => log.info({ rollout: key, status: runner.state.status, seq: runner.state.seq }, 'managing rolloutplan'),
    });
    if (!managed || this.terms.get(term.shard) !== term) return null; // the shard's Lease lost while opening
    const { rollout, updated } = managed;
    if (!updated && rollout.runner.state.seq > 0 && obj.status?.observedGeneration !== obj.metadata.generation) this.writeStatus(key);
    return rollout;
  }

  private reportInvalid(obj: RolloutPlanObject, key: string, text: string, consequence: string): void {
    const mark = `${obj.metadata.generation ?? obj.metadata.resourceVersion}:${text}`;
    if (this.reported.get(key) === mark) return;
    this.reported.set(key, mark);
    this.opts.log.error({ rollout: key }, `rolloutplan is invalid (${consequence}): ${text}`);
    void this.events.emit(this.events.build(obj, 'InvalidPlan', 'Warning', `invalid spec, ${consequence}: ${text}`));
  }

  /** The router and provider of a plan; a router that cannot be built makes the spec invalid (null). */
  private io(host: RolloutHost<PlanObject>, loaded: LoadedPlan): RolloutIo | null {
    const key = `${loaded.plan.metadata.namespace ?? 'default'}/${loaded.plan.metadata.name}`;
    try {
      return host.io(loaded);
    } catch (err) {
      const obj = this.lookup(key);
      const text = `spec.traffic.router: ${(err as Error).message}`;
      if (obj) this.reportInvalid(obj, key, text, 'nothing is applied');
      if (!host.get(key)) this.invalid.set(key, text);
      return null;
    }
  }

  private writeStatus(key: string): Promise<void> {
    const m = this.termOf(key)?.host.get(key);
    if (!m) return Promise.resolve();
    const { obj, lastRequest } = m.meta;
    const ns = obj.metadata.namespace ?? 'default';
    return this.status.write(ns, obj.metadata.name, () =>
      buildStatus({
        generation: obj.metadata.generation,
        plan: m.loaded.plan,
        planHash: m.loaded.hash,
        state: m.runner.state,
        records: this.journal.recent(key, 10),
        counts: this.journal.counts(key),
        ...(lastRequest ? { lastRequest } : {}),
        controller: { identity: this.identity, lease: `${this.opts.leaseNamespace}/${shardLeaseName(this.shardOf(key), this.leases.shards)}` },
      }),
    );
  }

  /**
   * A manual request in the annotation: claimed (removed with a JSON patch that tests it is
   * still the same request, so it runs once even if the author withdraws it at that moment),
   * decided by the engine with the request's actor, answered in status.lastRequest.
   */
  private async handleRequest(term: Term, key: string, m: Managed): Promise<void> {
    const claimed = await this.claimRequest(key, m.meta.obj, m.meta.lastRequest?.id);
    if (!claimed) return;
    if (!claimed.ok) {
      logManual(this.opts.log, { rollout: key, request: claimed.id }, { accepted: false, message: claimed.error });
      m.meta.lastRequest = { id: claimed.id, accepted: false, message: claimed.error };
      return this.writeStatus(key);
    }
    const { id, action, actor, reason } = claimed.request;
    const result = await term.host.manual(key, action, actor, reason);
    logManual(this.opts.log, { rollout: key, action, actor, reason, request: id }, result);
    m.meta.lastRequest = { id, accepted: result.accepted, message: result.message, ...(result.seq ? { seq: result.seq } : {}) };
    await this.writeStatus(key);
  }

  /**
   * The request in the annotation of `obj`, claimed (see handleRequest); null when there is
   * none, it was answered already (`answered` or status.lastRequest), or it could not be
   * claimed. A request that cannot be read and names no id is answered with an Event only.
   */
  private async claimRequest(key: string, obj: RolloutPlanObject, answered: string | undefined): Promise<ClaimedRequest | null> {
    const parsed = requestOf(obj);
    if (!parsed) return null;
    const id = parsed.ok ? parsed.request.id : parsed.id;
    if (id !== null && (answered === id || obj.status?.lastRequest?.id === id)) return null;
    const raw = obj.metadata.annotations![REQUEST_ANNOTATION]!;
    if (!(await takeRequest(this.opts.client, obj.metadata.namespace ?? 'default', obj.metadata.name, raw))) {
      this.opts.log.info({ rollout: key, request: id }, `request ${id ?? '(no id)'} was withdrawn or replaced before it was taken`);
      return null;
    }
    if (parsed.ok) return { ok: true, request: parsed.request };
    if (id === null) {
      logManual(this.opts.log, { rollout: key }, { accepted: false, message: parsed.error });
      void this.events.emit(this.events.build(obj, 'InvalidRequest', 'Warning', parsed.error));
      return null;
    }
    return { ok: false, id, error: parsed.error };
  }

  /**
   * A manual request on a RolloutPlan whose spec cannot be run (and no earlier spec runs): it
   * is claimed and refused with why, in status.lastRequest, so its author is answered at once.
   */
  private async refuseRequest(key: string, obj: RolloutPlanObject, why: string): Promise<void> {
    const claimed = await this.claimRequest(key, obj, undefined);
    if (!claimed) return;
    const message = claimed.ok
      ? `rolloutplan ${key} has an invalid spec, so there is no rollout to ${claimed.request.action}: ${why}`
      : claimed.error;
    const id = claimed.ok ? claimed.request.id : claimed.id;
    logManual(this.opts.log, { rollout: key, ...(claimed.ok ? claimed.request : {}), request: id }, { accepted: false, message });
    await this.status.write(obj.metadata.namespace ?? 'default', obj.metadata.name, () => ({ lastRequest: { id, accepted: false, message, seq: null } }));
  }

  /**
   * Clean stop: no new work, the steps under way finish, statuses and notifications flush,
   * then the Leases are released (holderIdentity cleared) so other replicas take over at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.settled();
    const hosts = [...this.terms.values()].map((t) => t.host);
    for (const host of hosts) host.stop();
    await Promise.all(hosts.map((host) => host.drain()));
    await this.status.flush();
    await Promise.all(hosts.map((host) => host.close()));
    this.stopping = true;
    this.terms.clear();
    await this.leases.stop({ release: true });
    this.metrics.setLeader(false);
    await this.journal.close();
    await this.server?.close();
    await this.dashboardServer?.close();
  }
}

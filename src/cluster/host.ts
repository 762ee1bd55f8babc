/**
 * The in-cluster controller (`rollgate controller`): RolloutPlans from the API (list + watch),
 * the same engine as `rollgate run` (RolloutRunner + Scheduler), a ConfigMap journal, status
 * and Events per decision, manual requests through an annotation, and Lease leader election.
 *
 * Every replica watches and serves /healthz, /readyz (ready once the RolloutPlans are listed,
 * leader or standby) and /metrics (`rollgate_leader` 1 or 0). Only the leader runs rollouts:
 * each leadership term has its own Scheduler, started when the Lease is acquired and stopped
 * when it is lost; the journal and routers are fenced (fence.ts), so after losing the Lease no
 * step still under way can journal a decision or move traffic.
 */
import type { Clock } from '../core/clock.js';
import { RealClock } from '../core/clock.js';
import { RolloutRunner } from '../engine/rollout.js';
import { Scheduler } from '../engine/scheduler.js';
import type { Journal } from '../core/journal.js';
import { providerForPlan } from '../metrics/prometheus.js';
import type { MetricsProvider } from '../core/metrics-provider.js';
import { logDecision } from '../observe/decision-log.js';
import type { Logger } from '../support/log.js';
import { ControllerMetrics } from '../observe/metrics.js';
import { Notifier } from '../observe/notify.js';
import { startHttpServer, type HttpServer } from '../observe/server.js';
import { loadPlanObject, type LoadedPlan } from '../plan/load.js';
import { createRouter } from '../routers/registry.js';
import type { ControllerOptions } from '../standalone/host.js';
import type { TrafficRouter } from '../core/router.js';
import type { KubeClient } from '../kube/client.js';
import { EventRecorder } from './events.js';
import { fenceJournal, fenceRouter } from './fence.js';
import { Informer } from '../kube/informer.js';
import { ConfigMapJournal } from './kube-journal.js';
import { defaultIdentity, LeaderElector } from '../kube/leader.js';
import { requestOf, takeRequest, type KubeRequest } from './requests.js';
import { REQUEST_ANNOTATION, RESOURCE_API_VERSION, RESOURCE_KIND, rolloutPlansPath, type LastRequest, type RolloutPlanObject } from './rolloutplans.js';
import { objectKey } from '../kube/objects.js';
import { buildStatus, StatusWriter } from './status.js';

export interface KubeControllerOptions extends ControllerOptions {
  client: KubeClient;
  /** Namespaces to watch; empty or absent: all (cluster-wide list and watch). */
  namespaces?: string[];
  /** Namespace of the Lease `rollgate-controller`. */
  leaseNamespace: string;
  /** This replica's holderIdentity; default POD_NAME, else hostname_pid. */
  identity?: string;
  lease?: { durationSeconds?: number; renewEveryMs?: number; renewDeadlineMs?: number; retryEveryMs?: number; now?: () => number };
  watch?: { minBackoffMs?: number; maxBackoffMs?: number; silenceMs?: number };
  journal?: { maxBytes?: number };
}

interface Managed {
  obj: RolloutPlanObject;
  loaded: LoadedPlan;
  runner: RolloutRunner;
  notifier: Notifier;
  lastRequest?: LastRequest;
}

/** A request taken from the annotation: to run, or to refuse with `error`. */
type ClaimedRequest = { ok: true; request: KubeRequest } | { ok: false; id: string; error: string };

interface Term {
  scheduler: Scheduler;
  loop: Promise<void>;
}

export class KubeController {
  readonly metrics = new ControllerMetrics();
  readonly journal: ConfigMapJournal;
  readonly events: EventRecorder;
  readonly status: StatusWriter;
  readonly elector: LeaderElector;
  readonly informers: Informer<RolloutPlanObject>[];
  private readonly clock: Clock;
  private readonly fenced: Journal;
  private readonly managed = new Map<string, Managed>();
  private readonly reported = new Map<string, string>();
  /** Why the spec of a RolloutPlan that has no rollout running cannot be run (manual requests are refused with it). */
  private readonly invalid = new Map<string, string>();
  private readonly queues = new Map<string, Promise<void>>();
  private term: Term | null = null;
  private server: HttpServer | null = null;
  private stopping = false;

  private constructor(private readonly opts: KubeControllerOptions) {
    const { client, log } = opts;
    this.clock = opts.clock ?? new RealClock();
    const identity = opts.identity ?? defaultIdentity(opts.env);
    this.journal = new ConfigMapJournal({ client, log, ...(opts.journal?.maxBytes ? { maxBytes: opts.journal.maxBytes } : {}) });
    const isLeader = () => this.isLeader();
    this.fenced = fenceJournal(this.journal, isLeader, (ms) => this.metrics.observeJournalAppend(ms));
    this.events = new EventRecorder({ client, log, instance: identity });
    this.status = new StatusWriter({ client, log, allowed: isLeader });
    const l = opts.lease ?? {};
    this.elector = new LeaderElector({
      client,
      log,
      identity,
      namespace: opts.leaseNamespace,
      ...(l.durationSeconds ? { leaseDurationSeconds: l.durationSeconds } : {}),
      ...(l.renewEveryMs ? { renewEveryMs: l.renewEveryMs } : {}),
      ...(l.renewDeadlineMs ? { renewDeadlineMs: l.renewDeadlineMs } : {}),
      ...(l.retryEveryMs ? { retryEveryMs: l.retryEveryMs } : {}),
      ...(l.now ? { now: l.now } : {}),
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => void this.stopLeading(),
    });
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

  /** Serves the endpoints, starts watching and campaigning for the Lease. */
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
    for (const i of c.informers) i.start();
    c.elector.start();
    return c;
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  isLeader(): boolean {
    return !this.stopping && this.elector.isLeader();
  }

  synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  runner(key: string): RolloutRunner | undefined {
    return this.managed.get(key)?.runner;
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
    const next = prev.then(() => this.reconcile(key)).catch((err: unknown) => this.opts.log.error({ rollout: key, err: (err as Error).message }, `reconcile of ${key} failed`));
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

  private startLeading(): void {
    this.metrics.setLeader(true);
    const scheduler = new Scheduler(this.clock, this.opts.log);
    const loop = scheduler.run().catch((err: unknown) => this.opts.log.fatal({ err: (err as Error).message }, 'scheduler stopped'));
    this.term = { scheduler, loop };
    this.journal.forget(); // another leader may have written since this replica last read
    for (const o of this.informer()) void this.enqueue(objectKey(o));
  }

  /** Stops acting: the term's scheduler stops; runners are dropped (a new term replays journals). */
  private async stopLeading(): Promise<void> {
    this.metrics.setLeader(false);
    const term = this.term;
    this.term = null;
    if (!term) return;
    term.scheduler.stop();
    for (const [key, m] of this.managed) this.unmanage(key, m);
    await term.scheduler.drain();
    await term.loop;
  }

  private async reconcile(key: string): Promise<void> {
    const term = this.term;
    if (!term || this.stopping || !this.isLeader()) return;
    const obj = this.lookup(key);
    const m = this.managed.get(key);
    if (!obj) {
      if (m) {
        this.opts.log.info({ rollout: key }, `rolloutplan ${key} deleted: no longer managed (its journal ConfigMap and the split are left as they are)`);
        this.unmanage(key, m);
      }
      return;
    }
    this.status.observe(obj);
    const current = await this.manage(term, key, obj);
    if (current) await this.handleRequest(term, key, current);
    else if (this.term === term && this.invalid.has(key)) await this.refuseRequest(key, obj, this.invalid.get(key)!);
  }

  private unmanage(key: string, m: Managed): void {
    this.term?.scheduler.remove(key);
    this.metrics.removeRollout(key);
    void m.notifier.flush(5_000).then(() => m.notifier.close());
    this.status.forget(m.obj.metadata.namespace ?? 'default', m.obj.metadata.name);
    this.journal.forget(key);
    this.managed.delete(key);
  }

  /** Starts or updates the rollout of `obj`; an invalid spec is an InvalidPlan Event and changes nothing. */
  private async manage(term: Term, key: string, obj: RolloutPlanObject): Promise<Managed | null> {
    const { log } = this.opts;
    const res = loadPlanObject(obj, `rolloutplan ${key}`, { ...(this.opts.env ? { env: this.opts.env } : {}), ...(this.opts.prometheus ? { prometheus: this.opts.prometheus } : {}) });
    const running = this.managed.get(key);
    if (running && obj.metadata.uid && running.obj.metadata.uid !== obj.metadata.uid) {
      // Deleted and created again under the same name (the deletion fell in a watch gap):
      // a new rollout, not a change of the old one.
      log.info({ rollout: key, uid: obj.metadata.uid, previousUid: running.obj.metadata.uid }, `rolloutplan ${key} was deleted and created again (uid ${obj.metadata.uid}): the old rollout is let go, the new one starts from its own journal`);
      this.unmanage(key, running);
    }
    const existing = this.managed.get(key);
    this.invalid.delete(key);
    if (!res.loaded) {
      const text = res.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`).join('; ');
      this.reportInvalid(obj, key, text, existing ? 'the previous spec stays in force' : 'nothing is applied');
      if (existing) existing.obj = obj;
      else this.invalid.set(key, text);
      return existing ?? null;
    }
    for (const d of res.diagnostics) log.warn({ rollout: key }, `rolloutplan ${key}: ${d.path}: ${d.message}`);
    const loaded = res.loaded;
    if (existing) {
      existing.obj = obj;
      if (existing.loaded.hash === loaded.hash) return existing;
      const io = this.io(loaded);
      if (!io) return existing;
      existing.runner.replaceIo(io);
      const old = existing.notifier;
      void old.flush(10_000).then(() => old.close());
      existing.notifier = this.notifier(loaded);
      existing.loaded = loaded;
      await existing.runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
      term.scheduler.poke();
      this.writeStatus(key);
      return existing;
    }
    const io = this.io(loaded);
    if (!io) return null;
    if (obj.metadata.uid) this.journal.own(key, { apiVersion: RESOURCE_API_VERSION, kind: RESOURCE_KIND, name: obj.metadata.name, uid: obj.metadata.uid });
    const runner = await RolloutRunner.open(
      { plan: loaded.plan, planHash: loaded.hash },
      {
        journal: this.fenced,
        router: io.router,
        provider: io.provider,
        clock: this.clock,
        log: log.child({ rollout: key }),
        observer: {
          onRecord: (r, state) => {
            logDecision(log, r);
            this.metrics.observeDecision(r, state.status);
            const m = this.managed.get(key);
            m?.notifier.notify(r);
            void this.events.emit(this.events.decisionEvent(m?.obj ?? obj, r));
            this.writeStatus(key);
          },
          onApplied: (_m, ms) => this.metrics.observeRouterApply(io.router.name, ms, true),
          onApplyError: (_id, _e, ms) => this.metrics.observeRouterApply(io.router.name, ms, false),
          onGuard: (_id, result) => this.metrics.observeGuard(key, result),
          onQueryProblem: (_id, metric, problem) => this.metrics.observeQueryProblem(key, metric, problem),
        },
      },
    );
    if (this.term !== term) return null; // leadership lost while opening
    const m: Managed = { obj, loaded, runner, notifier: this.notifier(loaded), ...(obj.status?.lastRequest ? { lastRequest: obj.status.lastRequest } : {}) };
    this.managed.set(key, m);
    const s = runner.state;
    if (s.seq > 0) {
      const next = s.last?.next ? Date.parse(s.last.next.at) : null;
      this.metrics.restoreRollout({ rollout: key, revision: s.revision, phase: s.phaseName, phaseIndex: s.phaseIndex, status: s.status, weight: s.weight, mirror: s.mirror, nextAt: next });
    }
    term.scheduler.add(runner);
    log.info({ rollout: key, status: s.status, seq: s.seq }, `managing rolloutplan ${key}`);
    if (s.seq > 0 && (s.planHash !== loaded.hash || s.revision !== loaded.plan.spec.revision)) {
      await runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
    } else if (s.seq > 0 && obj.status?.observedGeneration !== obj.metadata.generation) {
      this.writeStatus(key);
    }
    return m;
  }

  private reportInvalid(obj: RolloutPlanObject, key: string, text: string, consequence: string): void {
    const mark = `${obj.metadata.generation ?? obj.metadata.resourceVersion}:${text}`;
    if (this.reported.get(key) === mark) return;
    this.reported.set(key, mark);
    this.opts.log.error({ rollout: key }, `rolloutplan ${key} is invalid (${consequence}): ${text}`);
    void this.events.emit(this.events.build(obj, 'InvalidPlan', 'Warning', `invalid spec, ${consequence}: ${text}`));
  }

  private io(loaded: LoadedPlan): { router: TrafficRouter; provider: MetricsProvider } | null {
    const { opts } = this;
    const key = `${loaded.plan.metadata.namespace ?? 'default'}/${loaded.plan.metadata.name}`;
    let router: TrafficRouter;
    try {
      router = opts.routerFor ? opts.routerFor(loaded) : createRouter(loaded.plan, { log: opts.log, kube: opts.client });
    } catch (err) {
      const obj = this.lookup(key);
      const text = `spec.traffic.router: ${(err as Error).message}`;
      if (obj) this.reportInvalid(obj, key, text, 'nothing is applied');
      if (!this.managed.has(key)) this.invalid.set(key, text);
      return null;
    }
    const provider = opts.providerFor
      ? opts.providerFor(loaded)
      : providerForPlan(loaded.plan.spec.prometheus, {
          log: opts.log,
          fallbackAddress: opts.prometheus,
          onQuery: (q) => this.metrics.observeQuery(q.durationMs, q.ok, q.errorKind),
        });
    return { router: fenceRouter(router, () => this.isLeader()), provider };
  }

  private notifier(loaded: LoadedPlan): Notifier {
    return new Notifier(loaded.plan.spec.notify, { log: this.opts.log, onFailure: () => this.metrics.observeNotifyFailure() });
  }

  private writeStatus(key: string): Promise<void> {
    const m = this.managed.get(key);
    if (!m) return Promise.resolve();
    const ns = m.obj.metadata.namespace ?? 'default';
    return this.status.write(ns, m.obj.metadata.name, () =>
      buildStatus({
        generation: m.obj.metadata.generation,
        plan: m.loaded.plan,
        planHash: m.loaded.hash,
        state: m.runner.state,
        records: this.journal.recent(key, 10),
        counts: this.journal.counts(key),
        ...(m.lastRequest ? { lastRequest: m.lastRequest } : {}),
      }),
    );
  }

  /**
   * A manual request in the annotation: claimed (removed with a JSON patch that tests it is
   * still the same request, so it runs once even if the author withdraws it at that moment),
   * decided by the engine with the request's actor, answered in status.lastRequest.
   */
  private async handleRequest(term: Term, key: string, m: Managed): Promise<void> {
    const claimed = await this.claimRequest(key, m.obj, m.lastRequest?.id);
    if (!claimed) return;
    if (!claimed.ok) {
      m.lastRequest = { id: claimed.id, accepted: false, message: claimed.error };
      return this.writeStatus(key);
    }
    const { id, action, actor, reason } = claimed.request;
    this.opts.log.info({ rollout: key, action, actor, reason, request: id }, `manual ${action} of ${key} requested by ${actor}`);
    const result = await m.runner.manual(action, actor, reason);
    term.scheduler.poke();
    m.lastRequest = { id, accepted: result.accepted, message: result.message, ...(result.seq ? { seq: result.seq } : {}) };
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
      this.opts.log.info({ rollout: key, request: id }, `request ${id ?? '(no id)'} on ${key} was withdrawn or replaced before it was taken`);
      return null;
    }
    if (parsed.ok) return { ok: true, request: parsed.request };
    this.opts.log.warn({ rollout: key, request: id }, `rolloutplan ${key}: ${parsed.error}`);
    if (id === null) {
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
    this.opts.log.warn({ rollout: key, request: id }, `manual request ${id} on ${key} refused: ${message}`);
    await this.status.write(obj.metadata.namespace ?? 'default', obj.metadata.name, () => ({ lastRequest: { id, accepted: false, message, seq: null } }));
  }

  /**
   * Clean stop: no new work, the steps under way finish, statuses and notifications flush,
   * then the Lease is released (holderIdentity cleared) so a standby takes over at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.settled();
    const term = this.term;
    if (term) {
      term.scheduler.stop();
      await term.scheduler.drain();
      await term.loop;
    }
    await this.status.flush();
    await Promise.all([...this.managed.values()].map((m) => m.notifier.flush(5_000).then(() => m.notifier.close())));
    this.stopping = true;
    this.term = null;
    this.managed.clear();
    await this.elector.stop({ release: true });
    this.metrics.setLeader(false);
    await this.journal.close();
    await this.server?.close();
  }
}

/**
 * `rollgate run`: the standalone controller. It owns a state dir (lock), runs every plan it
 * finds, journals to JSONL files, answers manual requests from the inbox, reloads changed
 * plans, and serves /metrics, /healthz and /readyz.
 */
import { mkdir, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Journal } from '../core/journal.js';
import { FileJournal } from '../journal/file-journal.js';
import { JournalHealth } from '../journal/health.js';
import { acquireStateDirLock, type StateDirLock } from '../statedir/lock.js';
import { watchInbox, type InboxWatcher, type ManualRequest, type ManualOutcome } from '../statedir/inbox.js';
import type { JournalEntry } from '../core/record.js';
import { loadPlans, planFiles, type LoadedPlan } from '../plan/load.js';
import { formatDiagnostic } from '../plan/diagnostic.js';
import { rolloutId } from '../plan/schema.js';
import { providerForPlan } from '../metrics/prometheus.js';
import type { MetricsProvider } from '../core/metrics-provider.js';
import { createRouter } from '../routers/registry.js';
import type { TrafficRouter } from '../core/router.js';
import { logDecision } from '../observe/decision-log.js';
import { ControllerMetrics } from '../observe/metrics.js';
import { Notifier } from '../observe/notify.js';
import { startHttpServer, type HttpServer, type Readiness } from '../observe/server.js';
import type { Logger } from '../support/log.js';
import { RealClock, type Clock } from '../core/clock.js';
import { RolloutRunner } from '../engine/rollout.js';
import { Scheduler } from '../engine/scheduler.js';
import { resolveRollout } from '../core/resolve.js';
import { KubeClient, loadKubeConfig } from '../kube/client.js';

/** How long a clean stop waits for steps under way. */
const STOP_DRAIN_MS = 10_000;

/** How often `run` reads each router back and re-applies a split that drifted. */
const DRIFT_CHECK_MS = 30_000;

const KUBE_ROUTERS = new Set(['ingress-nginx', 'gateway-api', 'smi', 'istio']);

/** What both controllers (`run` and `controller`) are configured with. */
export interface ControllerOptions {
  log: Logger;
  /** Default Prometheus address for plans without one (`--prometheus`). */
  prometheus?: string;
  /** Where /metrics, /healthz and /readyz listen; null: no HTTP server. */
  listen?: { host: string; port: number } | null;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Builds the metrics provider of a plan (tests may inject one). */
  providerFor?: (loaded: LoadedPlan) => MetricsProvider;
  /** Builds the router of a plan (tests may inject one). */
  routerFor?: (loaded: LoadedPlan) => TrafficRouter;
}

export interface StandaloneOptions extends ControllerOptions {
  paths: string[];
  stateDir: string;
  /** How often plan files are re-read for changes. Default 2 s. */
  planPollMs?: number;
  /** Test fault injection, see RolloutDeps.beforeApply. */
  beforeApply?: (seq: number) => void;
}

/** A plan that cannot be loaded at start: nothing is run, nothing applied. */
export class PlanLoadError extends Error {
  constructor(readonly lines: string[]) {
    super(`invalid plans; nothing was started:\n${lines.join('\n')}`);
    this.name = 'PlanLoadError';
  }
}

interface Managed {
  loaded: LoadedPlan;
  runner: RolloutRunner;
  notifier: Notifier;
}

/** Times journal appends for /metrics. */
class TimedJournal implements Journal {
  constructor(
    private readonly inner: Journal,
    private readonly metrics: ControllerMetrics,
  ) {}
  read(rollout: string) {
    return this.inner.read(rollout);
  }
  async append(rollout: string, entry: JournalEntry) {
    const t = performance.now();
    await this.inner.append(rollout, entry);
    this.metrics.observeJournalAppend(performance.now() - t);
  }
  rollouts() {
    return this.inner.rollouts();
  }
  close() {
    return this.inner.close();
  }
}

export class StandaloneController {
  readonly metrics = new ControllerMetrics();
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  private readonly managed = new Map<string, Managed>();
  private journal!: Journal;
  private journalHealth: JournalHealth | null = null;
  private lock: StateDirLock | null = null;
  private inbox: InboxWatcher | null = null;
  private server: HttpServer | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private ready = false;
  private reloading = false;
  private fingerprint = '';

  private constructor(private readonly opts: StandaloneOptions) {
    this.clock = opts.clock ?? new RealClock();
    this.scheduler = new Scheduler(this.clock, opts.log);
  }

  get log(): Logger {
    return this.opts.log;
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  /** Takes the state dir, loads plans, replays journals and reconciles routers. */
  static async open(opts: StandaloneOptions): Promise<StandaloneController> {
    const c = new StandaloneController(opts);
    try {
      await c.init();
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  private async init(): Promise<void> {
    const { opts } = this;
    this.fingerprint = await this.plansFingerprint();
    const loaded = await this.load();
    if (loaded.errors.length > 0) throw new PlanLoadError(loaded.errors);
    await mkdir(opts.stateDir, { recursive: true });
    this.lock = await acquireStateDirLock(opts.stateDir, { owner: 'rollgate run', log: opts.log });
    this.journalHealth = new JournalHealth(new FileJournal(opts.stateDir, { log: opts.log }));
    this.journal = new TimedJournal(this.journalHealth, this.metrics);
    for (const plan of loaded.plans) await this.manage(plan);
    if (opts.listen !== null) {
      const listen = opts.listen ?? { host: '127.0.0.1', port: 9464 };
      this.server = await startHttpServer({
        ...listen,
        metrics: this.metrics,
        ready: () => this.readiness(),
        log: opts.log,
      });
      opts.log.info({ url: this.server.url }, `serving /metrics, /healthz and /readyz on ${this.server.url}`);
    }
    this.inbox = watchInbox(opts.stateDir, (req) => this.handleRequest(req), opts.log);
    this.metrics.setLeader(true);
    this.ready = true;
  }

  /** /readyz: not before the journals are replayed, and not while the journal cannot be written. */
  private readiness(): Readiness {
    if (!this.ready) return { ok: false, reason: 'starting: replaying journals' };
    const f = this.journalHealth?.failing;
    if (f) return { ok: false, reason: `journal cannot be written since ${f.since} (rollout ${f.rollout}): ${f.error}; decisions wait until an append succeeds` };
    return { ok: true };
  }

  /** Runs the rollouts until stop() (real time) or until nothing is due before `until` (virtual time). */
  start(): Promise<void> {
    if (!this.clock.virtual) {
      this.pollTimer = setInterval(() => void this.reload(), this.opts.planPollMs ?? 2_000);
      this.pollTimer.unref();
    }
    this.loop = this.scheduler.run().catch((err: unknown) => {
      this.opts.log.fatal({ err: (err as Error).message }, 'scheduler stopped');
      throw err;
    });
    return this.loop;
  }

  /** Virtual time (tests): runs until `until` or until every rollout is done or stuck. */
  runUntil(until: number, done?: () => boolean): Promise<void> {
    return this.scheduler.run({ until, ...(done ? { done } : {}) });
  }

  runner(nameOrId: string): RolloutRunner | undefined {
    const id = resolveRollout(nameOrId, [...this.managed.keys()]);
    return id ? this.managed.get(id)?.runner : undefined;
  }

  runners(): RolloutRunner[] {
    return [...this.managed.values()].map((m) => m.runner);
  }

  private async load(): Promise<{ plans: LoadedPlan[]; errors: string[] }> {
    const res = await loadPlans(this.opts.paths, {
      envMode: 'strict',
      env: this.opts.env ?? process.env,
      ...(this.opts.prometheus ? { prometheus: this.opts.prometheus } : {}),
    });
    const errors = res.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    for (const d of res.diagnostics.filter((d) => d.severity === 'warning')) this.opts.log.warn(formatDiagnostic(d));
    const seen = new Map<string, string>();
    const plans: LoadedPlan[] = [];
    for (const p of res.plans) {
      const id = rolloutId(p.plan);
      const other = seen.get(id);
      if (other) {
        errors.push(`${p.file}: rollout ${id} is also defined in ${other}`);
        continue;
      }
      seen.set(id, p.file);
      plans.push(p);
    }
    return { plans, errors };
  }

  private io(loaded: LoadedPlan): { router: TrafficRouter; provider: MetricsProvider } {
    const { opts } = this;
    const router = opts.routerFor ? opts.routerFor(loaded) : createRouter(loaded.plan, { log: opts.log, ...this.kubeFor(loaded) });
    const provider = opts.providerFor
      ? opts.providerFor(loaded)
      : providerForPlan(loaded.plan.spec.prometheus, {
          log: opts.log,
          fallbackAddress: opts.prometheus,
          onQuery: (q) => this.metrics.observeQuery(q.durationMs, q.ok, q.errorKind),
        });
    return { router, provider };
  }

  /** Kubernetes routers under `rollgate run` use the default kubeconfig when there is one. */
  private kube: KubeClient | null | undefined;
  private kubeFor(loaded: LoadedPlan): { kube?: KubeClient } {
    if (!KUBE_ROUTERS.has(loaded.plan.spec.traffic.router)) return {};
    if (this.kube === undefined) {
      try {
        this.kube = new KubeClient(loadKubeConfig());
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'no Kubernetes API for Kubernetes routers');
        this.kube = null;
      }
    }
    return this.kube ? { kube: this.kube } : {};
  }

  private async manage(loaded: LoadedPlan): Promise<void> {
    const id = rolloutId(loaded.plan);
    const { router, provider } = this.io(loaded);
    const notifier = new Notifier(loaded.plan.spec.notify, { log: this.opts.log, onFailure: () => this.metrics.observeNotifyFailure() });
    const runner = await RolloutRunner.open(
      { plan: loaded.plan, planHash: loaded.hash },
      {
        journal: this.journal,
        router,
        provider,
        clock: this.clock,
        log: this.opts.log.child({ rollout: id }),
        ...(this.opts.beforeApply ? { beforeApply: this.opts.beforeApply } : {}),
        ...(this.clock.virtual ? {} : { driftCheckMs: DRIFT_CHECK_MS }),
        observer: {
          onRecord: (r, state) => {
            logDecision(this.opts.log, r);
            this.metrics.observeDecision(r, state.status);
            this.managed.get(id)?.notifier.notify(r);
          },
          onApplied: (_m, ms) => this.metrics.observeRouterApply(router.name, ms, true),
          onApplyError: (_id, _e, ms) => this.metrics.observeRouterApply(router.name, ms, false),
          onGuard: (_id, result) => this.metrics.observeGuard(id, result),
          onQueryProblem: (_id, metric, problem) => this.metrics.observeQueryProblem(id, metric, problem),
        },
      },
    );
    this.managed.set(id, { loaded, runner, notifier });
    if (runner.state.seq > 0) {
      const s = runner.state;
      const next = s.last?.next ? Date.parse(s.last.next.at) : null;
      this.metrics.restoreRollout({ rollout: id, revision: s.revision, phase: s.phaseName, phaseIndex: s.phaseIndex, status: s.status, weight: s.weight, mirror: s.mirror, nextAt: next });
    }
    this.scheduler.add(runner);
    this.opts.log.info({ rollout: id, file: loaded.file, status: runner.state.status, seq: runner.state.seq }, `managing ${id} from ${loaded.file}`);
    // A plan edited while the controller was down is a plan update (or a new revision).
    if (runner.state.seq > 0 && (runner.state.planHash !== loaded.hash || runner.state.revision !== loaded.plan.spec.revision)) {
      await runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
    }
  }

  /** Name, inode, size and modification time of every plan file. */
  private async plansFingerprint(): Promise<string> {
    const { files, diagnostics } = await planFiles(this.opts.paths);
    const parts = await Promise.all(
      files.map(async (f) => {
        try {
          const st = await stat(f);
          return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${f}:gone`;
        }
      }),
    );
    return `${parts.join('|')}|${diagnostics.map((d) => d.file).join('|')}`;
  }

  /** Re-reads the plan files; applies changes. An invalid plan keeps the old one running. */
  async reload(): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      // Parse only when a plan file changed (or appeared or went): not every poll.
      const fingerprint = await this.plansFingerprint();
      if (fingerprint === this.fingerprint) return;
      this.fingerprint = fingerprint;
      const { plans, errors } = await this.load();
      for (const e of errors) this.opts.log.error(`plan not applied (the previous version stays in force): ${e}`);
      const present = new Set<string>();
      for (const loaded of plans) {
        const id = rolloutId(loaded.plan);
        present.add(id);
        const m = this.managed.get(id);
        if (!m) {
          await this.manage(loaded);
          continue;
        }
        if (m.loaded.hash === loaded.hash) continue;
        const { router, provider } = this.io(loaded);
        m.runner.replaceIo({ router, provider });
        const old = m.notifier;
        void old.flush(10_000).then(() => old.close()); // queued notifications are still delivered
        m.notifier = new Notifier(loaded.plan.spec.notify, { log: this.opts.log, onFailure: () => this.metrics.observeNotifyFailure() });
        m.loaded = loaded;
        await m.runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
        this.scheduler.poke();
      }
      // A plan whose file failed to load is kept; one whose file is gone is let go.
      const failedFiles = new Set(errors.map((e) => e.split(':')[0]));
      for (const [id, m] of this.managed) {
        if (present.has(id) || failedFiles.has(m.loaded.file)) continue;
        this.opts.log.warn({ rollout: id, file: m.loaded.file }, `plan of ${id} removed: no longer managed (its journal and split are kept as they are)`);
        this.scheduler.remove(id);
        this.metrics.removeRollout(id);
        m.notifier.close();
        this.managed.delete(id);
      }
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'plan reload failed');
    } finally {
      this.reloading = false;
    }
  }

  /** A manual request: routed to its rollout, decided, recorded; refused with a reason. */
  async manual(req: Pick<ManualRequest, 'rollout' | 'action' | 'actor' | 'reason'>): Promise<ManualOutcome> {
    const ids = [...this.managed.keys()];
    const id = resolveRollout(req.rollout, ids);
    if (!id) {
      const ambiguous = ids.filter((i) => i.endsWith(`/${req.rollout}`));
      const why = ambiguous.length > 1 ? `is ambiguous: ${ambiguous.join(', ')}` : `is not managed by this controller (managed: ${ids.join(', ') || 'none'})`;
      return { accepted: false, message: `rollout ${req.rollout} ${why}` };
    }
    const result = await this.managed.get(id)!.runner.manual(req.action, req.actor, req.reason);
    this.scheduler.poke();
    return result;
  }

  private handleRequest(req: ManualRequest): Promise<ManualOutcome> {
    this.opts.log.info({ rollout: req.rollout, action: req.action, actor: req.actor, reason: req.reason }, `manual ${req.action} requested by ${req.actor}`);
    return this.manual(req);
  }

  /** Clean stop: finishes the steps under way, flushes notifications, releases the state dir. */
  async close(): Promise<void> {
    this.ready = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.scheduler.stop();
    // Steps under way finish (a decision is journalled before its split changes, so cutting one
    // short is safe); a step stuck on a slow Prometheus does not hold the stop for long.
    const drained = await Promise.race([this.scheduler.drain().then(() => true), delay(STOP_DRAIN_MS, false, { ref: false })]);
    if (!drained) this.opts.log.warn(`steps still under way after ${STOP_DRAIN_MS / 1000} s; stopping anyway (the journal has every decision taken)`);
    await this.loop?.catch(() => undefined);
    await this.inbox?.stop();
    await Promise.all([...this.managed.values()].map((m) => m.notifier.flush(5_000).then(() => m.notifier.close())));
    await this.journal?.close();
    await this.server?.close();
    this.metrics.setLeader(false);
    await this.lock?.release();
    this.lock = null;
  }
}

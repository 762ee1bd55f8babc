/**
 * `rollgate run`: the standalone mode around the RolloutHost. It owns a state dir (lock),
 * runs every plan of its plan files (re-read when they change), journals to JSONL files,
 * answers manual requests from the inbox, and serves /metrics, /healthz, /readyz and (unless
 * `dashboard: false`) the read-only dashboard on the same address.
 */
import { mkdir } from 'node:fs/promises';
import { FileJournal } from '../journal/file-journal.js';
import { JournalHealth } from '../journal/health.js';
import { acquireStateDirLock, type StateDirLock } from '../statedir/lock.js';
import { watchInbox, type AnsweredRequest, type InboxWatcher, type ManualRequest, type ManualOutcome } from '../statedir/inbox.js';
import type { LoadedPlan } from '../plan/load.js';
import { rolloutId } from '../plan/schema.js';
import { ControllerMetrics } from '../observe/metrics.js';
import { startHttpServer, type HttpServer, type Readiness } from '../observe/server.js';
import { logManual } from '../observe/rollout-log.js';
import type { Logger } from '../support/log.js';
import { RealClock, type Clock } from '../core/clock.js';
import { resolveRollout } from '../core/resolve.js';
import type { RolloutRunner } from '../engine/rollout.js';
import { RolloutHost, type ControllerOptions } from '../host/rollout-host.js';
import { LiveDashboard } from '../dashboard/live.js';
import { latestFileRecords } from '../dashboard/records.js';
import { DashboardRoutes } from '../dashboard/routes.js';
import { PlanFiles } from './plan-files.js';
import { removePlanNote, writePlanNote, type RejectedEdit } from '../statedir/plan-note.js';
import { planTimeZone } from '../plan/windows.js';
import { guardSize } from '../engine/judge.js';
import { formatSpan } from '../support/human-time.js';

/** How long a clean stop waits for steps under way: with the rest of the stop, SIGTERM is honoured within 10 s. */
const STOP_DRAIN_MS = 8_000;

/**
 * How many rollouts are opened at once at start (journal replay, router read back): enough to
 * overlap their file and router I/O, few enough to bound the file descriptors it takes.
 */
const OPEN_CONCURRENCY = 32;

export interface StandaloneOptions extends ControllerOptions {
  paths: string[];
  stateDir: string;
  /** How often plan files are re-read for changes. Default 2 s. */
  planPollMs?: number;
  /** Aborted (a SIGTERM during start-up): no more rollouts are opened, open() returns early. */
  signal?: AbortSignal;
  /** Serve the dashboard on the `listen` address (default true; nothing without `listen`). */
  dashboard?: boolean;
}

/** A plan that cannot be loaded at start: nothing is run, nothing applied. */
export class PlanLoadError extends Error {
  constructor(readonly lines: string[]) {
    super(`invalid plans; nothing was started:\n${lines.join('\n')}`);
    this.name = 'PlanLoadError';
  }
}

/**
 * Calls `fn` on each item, at most `limit` at a time, in the items' order; takes no new item
 * once `signal` is aborted or a call failed. Rejects with the first failure once every call
 * under way has settled.
 */
async function eachAtMost<T>(limit: number, items: readonly T[], fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length && failures.length === 0 && !signal?.aborted) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

export class StandaloneController {
  readonly metrics = new ControllerMetrics();
  readonly clock: Clock;
  private readonly files: PlanFiles;
  private host: RolloutHost | null = null;
  private journalHealth: JournalHealth | null = null;
  private fileJournal: FileJournal | null = null;
  private dashboard: LiveDashboard | null = null;
  private lock: StateDirLock | null = null;
  private inbox: InboxWatcher | null = null;
  private server: HttpServer | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private ready = false;
  private reloading = false;
  /** Rollouts whose note names a rejected edit (cleared when their file loads again). */
  private readonly rejected = new Set<string>();

  private constructor(private readonly opts: StandaloneOptions) {
    this.clock = opts.clock ?? new RealClock();
    this.files = new PlanFiles(opts.paths, { log: opts.log, ...(opts.env ? { env: opts.env } : {}), ...(opts.prometheus ? { prometheus: opts.prometheus } : {}) });
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
    const loaded = await this.files.load();
    if (loaded.errors.length > 0) throw new PlanLoadError(loaded.errors.map((e) => e.text));
    await mkdir(opts.stateDir, { recursive: true });
    this.lock = await acquireStateDirLock(opts.stateDir, { owner: 'rollgate run', log: opts.log });
    this.fileJournal = new FileJournal(opts.stateDir, { log: opts.log });
    this.journalHealth = new JournalHealth(this.fileJournal);
    if (opts.listen !== null && opts.dashboard !== false) this.dashboard = this.liveDashboard(this.fileJournal);
    this.host = new RolloutHost({
      log: opts.log,
      clock: this.clock,
      journal: this.journalHealth,
      metrics: this.metrics,
      routerFor: opts.routerFor,
      ...(opts.providerFor ? { providerFor: opts.providerFor } : {}),
      ...(opts.queryPool ? { queryPool: opts.queryPool } : {}),
      ...(opts.prometheus ? { prometheus: opts.prometheus } : {}),
      ...(opts.driftCheckMs !== undefined ? { driftCheckMs: opts.driftCheckMs } : {}),
      ...(this.dashboard ? { listener: this.dashboard } : {}),
    });
    const host = this.host;
    await eachAtMost(OPEN_CONCURRENCY, loaded.plans, (plan) => this.manage(host, plan), opts.signal);
    if (opts.listen !== null) {
      const listen = opts.listen ?? { host: '127.0.0.1', port: 9464 };
      this.server = await startHttpServer({
        ...listen,
        metrics: this.metrics,
        ready: () => this.readiness(),
        ...(this.dashboard ? { routes: [new DashboardRoutes(this.dashboard)] } : {}),
        log: opts.log,
      });
      opts.log.info({ url: this.server.url }, `serving /metrics, /healthz and /readyz${this.dashboard ? ' and the dashboard' : ''} on ${this.server.url}`);
    }
    this.inbox = watchInbox(opts.stateDir, (req) => this.manual(req), opts.log, { onAnswered: (a) => this.logAnswer(a) });
    this.metrics.setLeader(true);
    this.ready = true;
  }

  /** The dashboard of the rollouts this controller runs, their records read from their journals. */
  private liveDashboard(journal: FileJournal): LiveDashboard {
    const view = (id: string) => {
      const m = this.host?.get(id);
      return m ? { id, plan: m.loaded.plan, state: m.runner.state } : undefined;
    };
    const source = {
      rollouts: () => (this.host?.all() ?? []).map((m) => ({ id: m.runner.id, plan: m.loaded.plan, state: m.runner.state })),
      get: view,
      records: (id: string, limit: number) => latestFileRecords(journal, id, limit),
    };
    return new LiveDashboard(source, { log: this.opts.log, now: () => this.clock.now() });
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
    return this.host!.run();
  }

  /** Virtual time (tests): runs until `until` or until every rollout is done or stuck. */
  runUntil(until: number, done?: () => boolean): Promise<void> {
    return this.host!.runUntil(until, done);
  }

  runner(nameOrId: string): RolloutRunner | undefined {
    return this.host?.runner(nameOrId);
  }

  runners(): RolloutRunner[] {
    return this.host?.all().map((m) => m.runner) ?? [];
  }

  private async manage(host: RolloutHost, loaded: LoadedPlan): Promise<void> {
    await host.manage(loaded, undefined, {
      onOpened: ({ runner }) => this.opts.log.info({ rollout: runner.id, file: loaded.file, status: runner.state.status, seq: runner.state.seq }, 'managing'),
    });
    await this.notePlan(loaded, null);
  }

  /**
   * The plan note of a managed rollout (statedir/plan-note.ts): the version in force and, when
   * an edit of its file was rejected, the errors. A note that cannot be written is logged: it
   * is a view for `status`, never a reason to stop a rollout.
   */
  private async notePlan(loaded: LoadedPlan, rejected: RejectedEdit | null): Promise<void> {
    const { plan } = loaded;
    const id = rolloutId(plan);
    try {
      await writePlanNote(this.opts.stateDir, {
        rollout: id,
        file: loaded.file,
        revision: plan.spec.revision,
        planHash: loaded.hash,
        timeZone: planTimeZone(plan.spec),
        guard: guardSize(plan),
        rejected,
      });
      if (rejected) this.rejected.add(id);
      else this.rejected.delete(id);
    } catch (err) {
      this.opts.log.warn({ rollout: id, err: (err as Error).message }, 'cannot write the plan note for rollgate status');
    }
  }

  /** Re-reads the plan files; applies changes. An invalid plan keeps the old one running. */
  async reload(): Promise<void> {
    const host = this.host;
    if (this.reloading || !host) return;
    this.reloading = true;
    try {
      // Parse only when a plan file changed (or appeared or went): not every poll.
      if (!(await this.files.changed())) return;
      const { plans, errors } = await this.files.load();
      for (const e of errors) this.opts.log.error(`plan not applied (the previous version stays in force): ${e.text}`);
      const present = new Set<string>();
      for (const loaded of plans) {
        const id = rolloutId(loaded.plan);
        present.add(id);
        const m = host.get(id);
        if (!m) await this.manage(host, loaded);
        else if (m.loaded.hash !== loaded.hash) {
          await host.update(id, loaded);
          await this.notePlan(loaded, null);
        } else if (this.rejected.has(id)) await this.notePlan(loaded, null); // the edit was undone
      }
      // A plan whose file failed to load is kept, its note says why; one whose file is gone is let go.
      const failedFiles = new Map<string, string[]>();
      for (const e of errors) failedFiles.set(e.file, [...(failedFiles.get(e.file) ?? []), e.text]);
      const at = new Date(this.clock.now()).toISOString();
      for (const m of host.all()) {
        const id = m.runner.id;
        if (present.has(id)) continue;
        const failed = failedFiles.get(m.loaded.file);
        if (failed) {
          await this.notePlan(m.loaded, { at, file: m.loaded.file, errors: failed });
          continue;
        }
        this.opts.log.warn({ rollout: id, file: m.loaded.file }, 'plan removed: no longer managed (its journal and split are kept as they are)');
        host.unmanage(id);
        this.rejected.delete(id);
        await removePlanNote(this.opts.stateDir, id).catch((err: unknown) => this.opts.log.warn({ rollout: id, err: (err as Error).message }, 'cannot remove the plan note'));
      }
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message }, 'plan reload failed');
    } finally {
      this.reloading = false;
    }
  }

  /** A manual request: routed to its rollout, decided, recorded; refused with a reason. */
  async manual(req: Pick<ManualRequest, 'rollout' | 'action' | 'actor' | 'reason'>): Promise<ManualOutcome> {
    const ids = this.host?.ids() ?? [];
    const id = resolveRollout(req.rollout, ids);
    if (!id) {
      const ambiguous = ids.filter((i) => i.endsWith(`/${req.rollout}`));
      const why = ambiguous.length > 1 ? `is ambiguous: ${ambiguous.join(', ')}` : `is not managed by this controller (managed: ${ids.join(', ') || 'none'})`;
      return { accepted: false, message: `rollout ${req.rollout} ${why}` };
    }
    return this.host!.manual(id, req.action, req.actor, req.reason);
  }

  /** One line per answered inbox request: accepted (info) or refused (warn), naming the rollout's id where it names one. */
  private logAnswer({ id, request, outcome }: AnsweredRequest): void {
    const rollout = request ? (resolveRollout(request.rollout, this.host?.ids() ?? []) ?? request.rollout) : undefined;
    logManual(this.opts.log, { ...(request ? { ...request, rollout } : {}), request: id }, outcome);
  }

  /** Clean stop: finishes the steps under way, flushes notifications, releases the state dir. */
  async close(): Promise<void> {
    this.ready = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const host = this.host;
    if (host) {
      host.stop();
      // A step stuck on a slow Prometheus does not hold the stop for long.
      if (!(await host.drain(STOP_DRAIN_MS))) this.opts.log.warn(`steps still under way after ${formatSpan(STOP_DRAIN_MS)}; stopping anyway (the journal has every decision taken)`);
    }
    await this.inbox?.stop();
    await host?.close();
    await this.journalHealth?.close();
    await this.server?.close();
    this.metrics.setLeader(false);
    await this.lock?.release();
    this.lock = null;
  }
}

/**
 * The pool every Prometheus query of a controller process goes through, shared by the providers
 * of all its plans (docs/operations.md, "Prometheus queries at scale"):
 *
 * - at most `maxInFlight` requests are on the wire at once; the others wait here, so a
 *   request's timeout starts when it leaves the pool (it measures the server, not this queue);
 * - waiting requests take turns by rollout (round-robin between per-rollout queues: a rollout
 *   with fifty metrics cannot starve one with a single metric), checkpoint queries before guard
 *   queries;
 * - a guard query still waiting when its budget has passed is not sent: the caller gets a
 *   `QueryNotSentError` (a missing sample, never a pass);
 * - identical requests (same key) waiting or in flight together are sent once, and every
 *   caller gets that one answer or that one error (single-flight);
 * - the HTTP agents (keep-alive, `maxSockets` = the cap) that every provider sends with.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { formatSpan } from '../support/human-time.js';

/** Queries in flight at once when `--max-queries` is not given. */
export const DEFAULT_MAX_QUERIES = 32;

/** Checkpoint queries leave the pool before guard queries. */
export type QueryPriority = 'checkpoint' | 'guard';

const PRIORITIES: readonly QueryPriority[] = ['checkpoint', 'guard'];

export interface PoolRequest<T> {
  /** The rollout asking: waiting requests take turns by rollout. */
  rollout: string;
  priority: QueryPriority;
  /**
   * For a guard query: the instant (the pool's `now()`) after which its answer is worthless;
   * if it is still waiting then, it is not sent.
   */
  deadline?: number;
  /** Requests with equal keys waiting or in flight at the same time are sent once. */
  key?: string;
  /** Sends the request; called when it leaves the pool. */
  send(): Promise<T>;
}

/** A guard query that was still waiting in the pool when its budget ran out: never sent. */
export class QueryNotSentError extends Error {
  override readonly name = 'QueryNotSentError';
  constructor(
    /** How long it waited. */
    readonly waitedMs: number,
    /** Requests in flight, and other requests waiting, when it was given up. */
    readonly inFlight: number,
    readonly queued: number,
  ) {
    super(`not sent: waited ${formatSpan(waitedMs)} for one of the query slots (${inFlight} in flight, ${queued} waiting)`);
  }
}

export interface QueryPoolOptions {
  /** Requests in flight at once, and sockets per origin. Default DEFAULT_MAX_QUERIES. */
  maxInFlight?: number;
  /** Milliseconds of a monotonic clock (deadlines are read on it). Default performance.now. */
  now?: () => number;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  deadline: number | undefined;
  since: number;
  timer: NodeJS.Timeout | undefined;
}

interface Job {
  key: string | undefined;
  rollout: string;
  priority: QueryPriority;
  send(): Promise<unknown>;
  waiters: Set<Waiter>;
  state: 'queued' | 'sent' | 'dropped';
}

export class QueryPool {
  readonly maxInFlight: number;
  /** The agents every request of the pool is sent with. */
  readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly now: () => number;
  private running = 0;
  private waiting = 0;
  /**
   * Per priority, the waiting jobs of each rollout; a Map keeps the rollouts in turn order (a
   * rollout served goes to the back). A job can sit in two queues after a checkpoint caller
   * joined a guard job; the entry found second is skipped (its state is no longer `queued`).
   */
  private readonly turns: Record<QueryPriority, Map<string, Job[]>> = { checkpoint: new Map(), guard: new Map() };
  /** Jobs waiting or in flight, by key (single-flight). */
  private readonly byKey = new Map<string, Job>();

  constructor(opts: QueryPoolOptions = {}) {
    const max = opts.maxInFlight ?? DEFAULT_MAX_QUERIES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the query pool needs at least one query in flight, got ${max}`);
    this.maxInFlight = max;
    this.now = opts.now ?? (() => performance.now());
    const agent = { keepAlive: true, maxSockets: max, maxFreeSockets: max, scheduling: 'lifo' as const };
    this.agents = { http: new HttpAgent(agent), https: new HttpsAgent(agent) };
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.running;
  }

  /** Requests waiting for a slot (one per distinct key, however many callers wait on it). */
  get queued(): number {
    return this.waiting;
  }

  /** Sends `req` when a slot is free and its turn comes (or joins an identical request). */
  run<T>(req: PoolRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (v: unknown) => void, reject, deadline: req.deadline, since: this.now(), timer: undefined };
      const same = req.key === undefined ? undefined : this.byKey.get(req.key);
      if (same) return this.join(same, waiter, req.priority);
      const job: Job = { key: req.key, rollout: req.rollout, priority: req.priority, send: req.send, waiters: new Set([waiter]), state: 'queued' };
      if (req.key !== undefined) this.byKey.set(req.key, job);
      if (this.waiting === 0 && this.running < this.maxInFlight) return this.start(job);
      this.waiting++;
      this.enqueue(job, req.priority);
      this.watchDeadline(job, waiter);
    });
  }

  private join(job: Job, waiter: Waiter, priority: QueryPriority): void {
    job.waiters.add(waiter);
    if (job.state !== 'queued') return;
    this.watchDeadline(job, waiter);
    if (priority === 'checkpoint' && job.priority === 'guard') {
      job.priority = 'checkpoint';
      this.enqueue(job, 'checkpoint');
    }
  }

  private enqueue(job: Job, priority: QueryPriority): void {
    const turns = this.turns[priority];
    const jobs = turns.get(job.rollout);
    if (jobs) jobs.push(job);
    else turns.set(job.rollout, [job]);
  }

  private watchDeadline(job: Job, waiter: Waiter): void {
    if (waiter.deadline === undefined) return;
    waiter.timer = setTimeout(() => this.expire(job, waiter), Math.max(0, waiter.deadline - this.now()));
  }

  /** Gives a waiting caller up; a job nobody waits for any more is dropped unsent. */
  private expire(job: Job, waiter: Waiter): void {
    if (job.state !== 'queued' || !job.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (job.waiters.size === 0) {
      job.state = 'dropped';
      this.waiting--;
      this.forget(job);
    }
    waiter.reject(new QueryNotSentError(this.now() - waiter.since, this.running, this.waiting));
  }

  /** The next job to send: checkpoints first, the rollouts in turn; callers past their deadline are given up. */
  private next(): Job | undefined {
    for (const priority of PRIORITIES) {
      const turns = this.turns[priority];
      for (const [rollout, jobs] of turns) {
        turns.delete(rollout);
        for (let job = jobs.shift(); job; job = jobs.shift()) {
          if (job.state !== 'queued') continue;
          const now = this.now();
          for (const w of job.waiters) if (w.deadline !== undefined && w.deadline <= now) this.expire(job, w);
          if (job.state !== 'queued') continue;
          if (jobs.length > 0) turns.set(rollout, jobs);
          return job;
        }
      }
    }
    return undefined;
  }

  private pump(): void {
    while (this.running < this.maxInFlight) {
      const job = this.next();
      if (!job) return;
      this.waiting--;
      this.start(job);
    }
  }

  private start(job: Job): void {
    job.state = 'sent';
    for (const w of job.waiters) clearTimeout(w.timer);
    this.running++;
    let answer: Promise<unknown>;
    try {
      answer = job.send();
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (value) => this.finish(job, (w) => w.resolve(value)),
      (err: unknown) => this.finish(job, (w) => w.reject(err)),
    );
  }

  private finish(job: Job, settle: (w: Waiter) => void): void {
    this.running--;
    this.forget(job);
    for (const w of job.waiters) settle(w);
    this.pump();
  }

  private forget(job: Job): void {
    if (job.key !== undefined && this.byKey.get(job.key) === job) this.byKey.delete(job.key);
  }
}

/**
 * The rollout's decisions as pure functions: (plan, state, now, evidence) -> records.
 * Nothing here does I/O; the runner journals the records, then applies their split.
 * Every record is folded into the state as it is made, so one call may emit a chain such as
 * `abort` + `rollback`, or `wait` + `promote` + `advance`. The guard's decisions are in
 * decide-guard.ts.
 */
import type { DecisionRecord, GuardMark, JournalEntry, MetricResult, RecordKind } from '../core/record.js';
import { isDecisionRecord } from '../core/record.js';
import type { Split } from '../core/router.js';
import type { Plan } from '../plan/schema.js';
import { rolloutId } from '../plan/schema.js';
import { formatWindow, isoTime } from '../plan/duration.js';
import { applyEntry, applyRecord, isTerminal, type RolloutState } from '../core/state.js';
import { phaseGate } from './phase-start.js';
import { pendingCheckpoint, type DueDecision, type PendingCheckpoint } from './schedule.js';
import { badQueries, guardMetrics, outcomeOf, type Evidence } from './judge.js';

export interface PlanContext {
  plan: Plan;
  planHash: string;
}

type Draft = Partial<DecisionRecord> & Pick<DecisionRecord, 'kind' | 'decision' | 'reason'>;

/** Accumulates journal entries (records, and guard marks), folding each into the state. */
export class DecisionBuilder {
  readonly entries: JournalEntry[] = [];
  constructor(
    readonly ctx: PlanContext,
    public state: RolloutState,
    readonly now: number,
    readonly actor = 'controller',
  ) {}

  /**
   * Journals `d`, folded into the state. A record that leaves the rollout progressing gets the
   * pending checkpoint as its `next`, unless it says its own or `pendingNext: false` (a record
   * the next one in the same chain moves on from: a start that cannot begin yet, a promote).
   */
  push(d: Draft, opts: { pendingNext?: boolean } = {}): DecisionRecord {
    const s = this.state;
    const phase = this.ctx.plan.spec.phases[s.phaseIndex];
    const r: DecisionRecord = {
      seq: s.seq + 1,
      rollout: rolloutId(this.ctx.plan),
      revision: this.ctx.plan.spec.revision,
      planHash: this.ctx.planHash,
      kind: d.kind,
      phase: s.phaseName || phase?.name || null,
      phaseIndex: s.phaseIndex,
      at: isoTime(this.now),
      decision: d.decision,
      reason: d.reason,
      weight: { from: s.weight, to: s.weight },
      mirror: { from: s.mirror, to: s.mirror },
      actor: this.actor,
      ...stripUndefined(d),
    };
    this.state = applyRecord(s, r);
    // Say when the controller acts next for a rollout left progressing (status shows it).
    if (!r.next && this.state.status === 'progressing' && opts.pendingNext !== false) {
      const p = pendingCheckpoint(this.ctx.plan, this.state);
      if (p) r.next = { what: `checkpoint ${p.index + 1}/${p.of} of ${this.state.phaseName}`, at: isoTime(p.due) };
    }
    this.entries.push(r);
    return r;
  }

  /** The guard's strikes changed without a decision: a guard mark (docs/decision-record.md). */
  strikes(strikes: number): void {
    const m: GuardMark = { strikes, rollout: rolloutId(this.ctx.plan), after: this.state.seq, at: isoTime(this.now) };
    this.state = applyEntry(this.state, m);
    this.entries.push(m);
  }

  /** The decision records among the entries. */
  get records(): DecisionRecord[] {
    return this.entries.filter(isDecisionRecord);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const enters = (plan: Plan, index: number) => ({ phase: plan.spec.phases[index]!.name, index });

/** Opens a rollout (or a retry of one): the first phase's split, or a wait for it. */
export function decideStart(b: DecisionBuilder, kind: RecordKind = 'lifecycle', reason?: string): void {
  const { plan } = b.ctx;
  const gate = phaseGate(plan, { ...b.state, approvedPhase: null }, 0, b.now);
  const first = plan.spec.phases[0]!;
  const text = reason ?? `revision ${plan.spec.revision} starts with phase ${first.name}`;
  // A start belongs to the first phase, also when it replaces a revision that was elsewhere.
  const at = { phase: first.name, phaseIndex: 0, enters: enters(plan, 0) };
  if (!gate) {
    b.push({ kind, decision: 'start', reason: text, ...at, weight: { from: b.state.weight, to: first.weight }, mirror: { from: b.state.mirror, to: first.mirror } });
    return;
  }
  b.push({ kind, decision: 'start', reason: `${text}; it cannot begin yet`, ...at, next: mayBegin(plan, 0, gate.until) }, { pendingNext: false });
  pushWait(b, 0, gate.waitingFor, gate.reason, gate.until, 'wait');
}

function pushWait(b: DecisionBuilder, index: number, waitingFor: DecisionRecord['waitingFor'], reason: string, until: number | null, kind: RecordKind, extra: Draft | null = null): void {
  b.push({
    ...(extra ?? {}),
    kind,
    decision: 'wait',
    reason,
    waitingFor,
    enters: enters(b.ctx.plan, index),
    next: mayBegin(b.ctx.plan, index, until),
  });
}

/** `next` of a record that waits for phase `index` to begin: when its gate opens by itself. */
function mayBegin(plan: Plan, index: number, until: number | null): DecisionRecord['next'] {
  return until !== null ? { what: `phase ${plan.spec.phases[index]!.name} may begin`, at: isoTime(until) } : undefined;
}

/** Why a waiting phase begins now: the gate it waited for, opened. */
function gateOpened(waitingFor: RolloutState['waitingFor']): string {
  switch (waitingFor) {
    case 'approval':
      return 'its approval was granted';
    case 'window':
      return 'a deployment window is open';
    case 'blackout':
      return 'the blackout is over';
    case 'startAt':
      return 'its startAt has passed';
    default:
      return 'its gates are open';
  }
}

/**
 * Moves into phase `index` if its gates allow it now, else records (or keeps) a wait.
 * `via` is the record that ends the previous phase (a checkpoint) or null when the rollout
 * already waits (the advance is then a `wait`-kind record).
 */
function enterPhase(b: DecisionBuilder, index: number, via: Draft | null, opts: { skipStartAt?: boolean } = {}): void {
  const { plan } = b.ctx;
  const phase = plan.spec.phases[index]!;
  const gate = phaseGate(plan, b.state, index, b.now, opts);
  if (!gate) {
    const reason = via ? `${via.reason}; phase ${phase.name} begins` : `phase ${phase.name} begins: ${gateOpened(b.state.waitingFor)}`;
    b.push({
      ...(via ?? {}),
      kind: via?.kind ?? 'wait',
      decision: 'advance',
      reason,
      enters: enters(plan, index),
      weight: { from: b.state.weight, to: phase.weight },
      mirror: { from: b.state.mirror, to: phase.mirror },
    });
    return;
  }
  const unchanged = b.state.status === 'waiting' && b.state.phaseIndex === index && b.state.waitingFor === gate.waitingFor && (b.state.waitReason ?? '').endsWith(gate.reason);
  if (!via && unchanged) return;
  pushWait(b, index, gate.waitingFor, via ? `${via.reason}; ${gate.reason}` : gate.reason, gate.until, via?.kind ?? 'wait', via);
}

/**
 * Decides on the pending checkpoint `j` of the current phase (schedule.ts) judged on
 * `evidence`: continue, advance (or wait for the next phase), complete, hold, pause or roll back.
 */
export function decideCheckpoint(b: DecisionBuilder, j: PendingCheckpoint, evidence: Evidence): void {
  const { plan } = b.ctx;
  const spec = plan.spec;
  const outcome = outcomeOf(plan, evidence);
  const o = outcome.outcome;
  const last = j.index >= j.of - 1;
  const passes = o === 'pass' || (o === 'caution' && (!last || spec.analysis.onCaution === 'advance'));
  // Inconclusive, or a caution at the phase's last checkpoint with onCaution: hold.
  const attempt = o !== 'fail' && !passes ? b.state.inconclusive + 1 : undefined;
  const base: Draft = {
    kind: 'checkpoint',
    decision: 'continue',
    reason: outcome.reason,
    score: outcome.score,
    outcome: outcome.label,
    metrics: evidence.metrics,
    checkpoint: {
      index: j.index + 1,
      of: j.of,
      due: isoTime(j.due),
      window: formatWindow(j.due - j.from),
      from: isoTime(j.from),
      lateSeconds: Math.max(0, Math.round((b.now - j.due) / 1000)),
      ...(attempt !== undefined ? { attempt } : {}),
    },
  };
  // A query Prometheus refused is a plan problem: no retry fixes it, so the rollout pauses at
  // once for a person (unless another metric gives evidence of a breach: that rolls back).
  const refused = badQueries(evidence.metrics);
  const breach = o === 'fail' && evidence.metrics.some((m) => m.verdict === 'fail');
  if (refused.length > 0 && !breach) {
    b.push({ ...base, decision: 'pause', reason: `${badQueryText(refused)}; ${fixThePlan(plan)}` });
    return;
  }
  if (o === 'fail') {
    startRollback(b, { ...base, decision: 'rollback' });
    return;
  }
  if (passes) {
    if (!last) {
      b.push(base);
      return;
    }
    const next = b.state.phaseIndex + 1;
    if (next >= spec.phases.length) {
      b.push({ ...base, decision: 'complete', reason: `${outcome.reason}; last phase passed, rollout complete` });
      return;
    }
    // The checkpoint record itself carries advance or wait; fold the position first.
    b.state = { ...b.state, checkpointIndex: j.index + 1, evidenceFrom: j.due };
    enterPhase(b, next, { ...base, reason: `${outcome.reason}; phase ${spec.phases[b.state.phaseIndex]!.name} passed` });
    return;
  }
  const n = attempt!;
  if (n > spec.analysis.inconclusiveLimit) {
    const why = `${outcome.reason}; ${n} inconclusive judgements in a row (inconclusiveLimit ${spec.analysis.inconclusiveLimit})`;
    if (spec.analysis.onInconclusive === 'rollback') {
      startRollback(b, { ...base, decision: 'rollback', reason: why });
    } else {
      b.push({ ...base, decision: 'pause', reason: `${why}; paused for a person: rollgate resume|promote|abort ${plan.metadata.name}` });
    }
    return;
  }
  const retryAt = j.due + spec.analysis.retryInterval;
  b.push({ ...base, decision: 'hold', next: { what: `checkpoint ${j.index + 1}/${j.of} judged again`, at: isoTime(retryAt) } });
}

/** The weights a gradual rollback passes through from `weight`, always ending at 0. */
export function rollbackSteps(plan: Plan, weight: number): number[] {
  if (plan.spec.rollback.strategy === 'immediate') return [0];
  const steps = plan.spec.rollback.steps.filter((w) => w < weight);
  if (steps[steps.length - 1] !== 0) steps.push(0);
  return steps;
}

/** The first rollback record: to 0 at once, or to the first gradual step. */
export function startRollback(b: DecisionBuilder, d: Draft): void {
  const to = rollbackSteps(b.ctx.plan, b.state.weight)[0]!;
  pushRollbackStep(b, to, d);
}

function pushRollbackStep(b: DecisionBuilder, to: number, d: Draft): void {
  const done = to === 0;
  const at = b.now + b.ctx.plan.spec.rollback.stepInterval;
  b.push({
    ...d,
    decision: 'rollback',
    weight: { from: b.state.weight, to },
    mirror: { from: b.state.mirror, to: 0 },
    next: done ? undefined : { what: `rollback step to ${rollbackSteps(b.ctx.plan, to)[0] ?? 0}%`, at: isoTime(at) },
  });
}

/** The next step of a gradual rollback. */
function decideRollbackStep(b: DecisionBuilder): void {
  const to = rollbackSteps(b.ctx.plan, b.state.weight)[0] ?? 0;
  pushRollbackStep(b, to, {
    kind: b.state.rollbackKind ?? 'lifecycle',
    decision: 'rollback',
    reason: `gradual rollback step ${b.state.weight}% -> ${to}%`,
  });
}

/** `error-rate: bad query (...): Prometheus said: ...; query: ...` for each refused metric. */
export function badQueryText(refused: MetricResult[]): string {
  return refused.map((m) => `${m.name}: ${m.reason ?? 'bad query'}`).join(', ');
}

export function fixThePlan(plan: Plan): string {
  return `paused for a person: fix the query in the plan, then rollgate resume ${plan.metadata.name}`;
}

/**
 * While waiting: begins the phase when its gates open, or records a changed wait. With an
 * `autoApprover` (simulate), a phase that waits for approval is approved at once, the
 * approval recorded as a `promote` by that actor.
 */
export function decideGate(b: DecisionBuilder, autoApprover?: string): void {
  const index = b.state.phaseIndex;
  if (autoApprover && phaseGate(b.ctx.plan, b.state, index, b.now)?.waitingFor === 'approval') {
    enterPhase(b, index, null); // records the wait unless already recorded
    const phase = b.ctx.plan.spec.phases[index]!.name;
    b.push({ kind: 'manual', decision: 'promote', actor: autoApprover, reason: `approval of phase ${phase} granted by ${autoApprover}`, enters: enters(b.ctx.plan, index) });
  }
  enterPhase(b, index, null);
}

/** The rollout's own decision that is due (schedule.ts), a checkpoint aside: it needs evidence. */
export function decideDue(b: DecisionBuilder, due: Exclude<DueDecision, { what: 'checkpoint' }>, autoApprover?: string): void {
  switch (due.what) {
    case 'start':
      decideStart(b);
      return;
    case 'gate':
      decideGate(b, autoApprover);
      return;
    case 'rollback-step':
      decideRollbackStep(b);
      return;
  }
}

/** A router that could not apply the decided split, and how often in a row (1 = the first time). */
export interface ApplyFailure {
  router: string;
  target: string;
  error: string;
  attempt: number;
  /** When the apply is retried. */
  retryAt: number;
}

/**
 * The first failure to apply a decided split is journalled as a `hold`: the previous split
 * stays in effect, checkpoints wait, the guard keeps watching, and the apply is retried with
 * backoff until the router takes it (its applied mark then says when). Later failures of the
 * same apply add nothing.
 */
export function decideApplyFailure(b: DecisionBuilder, f: ApplyFailure): void {
  if (f.attempt !== 1) return;
  const s = b.state;
  const split = (x: Split) => `${x.weight}%${x.mirror ? ` +${x.mirror}% mirror` : ''}`;
  const was = s.applied ? split(s.applied) : 'nothing';
  b.push({
    kind: 'lifecycle',
    decision: 'hold',
    reason: `router ${f.router} (${f.target}) could not apply ${split(s)} decided in #${s.splitSeq}: ${f.error}; ${was} stays in effect, checkpoints wait, retrying with backoff`,
    next: { what: 'router apply retried', at: isoTime(f.retryAt) },
  });
}

export type ManualAction = 'pause' | 'resume' | 'promote' | 'abort' | 'retry';
export type ManualResult = { accepted: true; message: string } | { accepted: false; message: string };

/** A person's decision: recorded with actor and reason, or refused with why. */
export function decideManual(b: DecisionBuilder, action: ManualAction, reason: string | undefined): ManualResult {
  const s = b.state;
  const { plan } = b.ctx;
  const name = plan.metadata.name;
  const why = (text: string) => (reason ? `${text}: ${reason}` : text);
  const refuse = (message: string): ManualResult => ({ accepted: false, message });
  const phaseMissing = !plan.spec.phases[s.phaseIndex] || plan.spec.phases[s.phaseIndex]!.name !== s.phaseName;
  switch (action) {
    case 'pause':
      if (s.status === 'paused') return refuse(`${name} is already paused`);
      if (s.status !== 'progressing' && s.status !== 'waiting') return refuse(`${name} is ${s.status}; only a progressing or waiting rollout can be paused`);
      b.push({ kind: 'manual', decision: 'pause', reason: why('paused by hand') });
      return { accepted: true, message: `${name} paused at ${s.weight}%` };
    case 'resume':
      if (s.status !== 'paused') return refuse(`${name} is ${s.status}, not paused`);
      if (phaseMissing) return refuse(`${name} is at phase "${s.phaseName}", which the plan no longer has; retry starts over from the first phase`);
      b.push({ kind: 'manual', decision: 'resume', reason: why('resumed by hand') });
      return { accepted: true, message: `${name} resumed` };
    case 'promote': {
      const effective = s.status === 'paused' ? s.pausedFrom : s.status;
      if (phaseMissing && s.status === 'paused') return refuse(`${name} is at phase "${s.phaseName}", which the plan no longer has; retry starts over`);
      if (effective === 'waiting') {
        if (s.waitingFor === 'window' || s.waitingFor === 'blackout') return refuse(`${name} waits for a deployment ${s.waitingFor} (${s.waitReason}); promotion does not override windows or blackouts`);
        b.push({ kind: 'manual', decision: 'promote', reason: why(`phase ${plan.spec.phases[s.phaseIndex]!.name} approved`), enters: enters(plan, s.phaseIndex) });
        enterPhase(b, s.phaseIndex, null, { skipStartAt: true });
        return { accepted: true, message: b.state.status === 'progressing' ? `${name} promoted into phase ${b.state.phaseName}` : `${name} approved; ${b.state.waitReason}` };
      }
      if (effective === 'progressing') {
        const next = s.phaseIndex + 1;
        if (next >= plan.spec.phases.length) {
          b.push({ kind: 'manual', decision: 'promote', reason: why(`remaining checkpoints of ${s.phaseName} skipped`) }, { pendingNext: false });
          b.push({ kind: 'manual', decision: 'complete', reason: 'promoted past the last phase: rollout complete' });
          return { accepted: true, message: `${name} promoted: complete` };
        }
        b.push({ kind: 'manual', decision: 'promote', reason: why(`remaining checkpoints of ${s.phaseName} skipped`), enters: enters(plan, next) }, { pendingNext: false });
        enterPhase(b, next, { kind: 'manual', decision: 'advance', reason: `promoted past phase ${s.phaseName}` }, { skipStartAt: true });
        return { accepted: true, message: `${name} promoted to phase ${plan.spec.phases[next]!.name}` };
      }
      return refuse(`${name} is ${s.status}; nothing to promote`);
    }
    case 'abort':
      if (s.status === 'rolled-back') return refuse(`${name} is already rolled back`);
      if (s.status === 'complete') return refuse(`${name} is complete; change spec.revision to roll out something else`);
      if (s.seq === 0) return refuse(`${name} has not started`);
      b.push({ kind: 'manual', decision: 'abort', reason: why('aborted by hand') });
      if (s.status === 'rolling-back') {
        pushRollbackStep(b, 0, { kind: 'manual', decision: 'rollback', reason: 'abort during a gradual rollback: straight to 0%' });
      } else {
        startRollback(b, { kind: 'manual', decision: 'rollback', reason: why('aborted by hand') });
      }
      return { accepted: true, message: `${name} aborted; rolling back from ${s.weight}%` };
    case 'retry':
      if (s.status !== 'rolled-back') return refuse(`${name} is ${s.status}; retry restarts a rolled-back rollout`);
      decideStart(b, 'manual', why(`retry of revision ${plan.spec.revision} from phase ${plan.spec.phases[0]!.name}`));
      return { accepted: true, message: `${name} restarted` };
  }
}

/**
 * The plan file changed: same revision keeps the position, a new revision starts over. A plan
 * whose guard watches no metric any more leaves no strikes behind.
 */
export function decidePlanUpdate(b: DecisionBuilder): void {
  planUpdate(b);
  if (b.state.guardStrikes > 0 && guardMetrics(b.ctx.plan).length === 0) b.strikes(0);
}

function planUpdate(b: DecisionBuilder): void {
  const s = b.state;
  const { plan, planHash } = b.ctx;
  if (s.seq === 0) return;
  if (s.revision !== plan.spec.revision) {
    decideStart(b, 'lifecycle', `revision ${plan.spec.revision} replaces ${s.revision}; starts with phase ${plan.spec.phases[0]!.name}`);
    return;
  }
  if (s.planHash === planHash) return;
  const index = plan.spec.phases.findIndex((p) => p.name === s.phaseName);
  const reason = `plan changed (${s.planHash.slice(0, 19)} -> ${planHash.slice(0, 19)}); new thresholds, checkpoints and guard apply from the next judgement`;
  if (index >= 0) {
    b.push({ kind: 'lifecycle', decision: 'plan-updated', reason, enters: index !== s.phaseIndex ? enters(plan, index) : undefined });
  } else {
    b.push({ kind: 'lifecycle', decision: 'plan-updated', reason: `${reason}; phase ${s.phaseName} is gone` });
    if (!isTerminal(b.state) && b.state.status !== 'paused' && b.state.status !== 'rolling-back') {
      b.push({ kind: 'lifecycle', decision: 'pause', reason: `phase ${s.phaseName} is no longer in the plan; paused for a person (retry, abort)` });
    }
  }
}

/**
 * The rollout's decisions as pure functions: (plan, state, now, evidence) -> records.
 * Nothing here does I/O; the runner journals the records, then applies their split.
 * Every record is folded into the state as it is made, so one call may emit a chain such as
 * `abort` + `rollback`, or `wait` + `promote` + `advance`.
 */
import type { DecisionRecord, MetricResult, RecordKind } from '../core/record.js';
import type { Plan } from '../plan/schema.js';
import { rolloutId } from '../plan/schema.js';
import { isoTime } from '../plan/duration.js';
import type { CheckpointOutcome } from '../gates/outcome.js';
import { applyRecord, isTerminal, type RolloutState } from '../core/state.js';
import { phaseGate } from './phase-start.js';
import { pendingCheckpoint } from './schedule.js';
import { badQueries } from './judge.js';

export interface PlanContext {
  plan: Plan;
  planHash: string;
}

type Draft = Partial<DecisionRecord> & Pick<DecisionRecord, 'kind' | 'decision' | 'reason'>;

/** Accumulates records, folding each into the state. */
export class DecisionBuilder {
  readonly records: DecisionRecord[] = [];
  constructor(
    readonly ctx: PlanContext,
    public state: RolloutState,
    readonly now: number,
    readonly actor = 'controller',
  ) {}

  push(d: Draft): DecisionRecord {
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
    if (!r.next && this.state.status === 'progressing') {
      const p = pendingCheckpoint(this.ctx.plan, this.state);
      if (p) r.next = { what: `checkpoint ${p.index + 1}/${p.of} of ${this.state.phaseName}`, at: isoTime(p.due) };
    }
    this.records.push(r);
    return r;
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
  b.push({ kind, decision: 'start', reason: `${text}; it cannot begin yet`, ...at });
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
    next: until !== null ? { what: `phase ${b.ctx.plan.spec.phases[index]!.name} may begin`, at: isoTime(until) } : undefined,
  });
}

/**
 * Moves into phase `index` if its gates allow it now, else records (or keeps) a wait.
 * `via` is the record that ends the previous phase (a checkpoint) or null when the rollout
 * already waits (the advance is then a `wait`-kind record).
 */
export function enterPhase(b: DecisionBuilder, index: number, via: Draft | null, opts: { skipStartAt?: boolean } = {}): void {
  const { plan } = b.ctx;
  const phase = plan.spec.phases[index]!;
  const gate = phaseGate(plan, b.state, index, b.now, opts);
  if (!gate) {
    const reason = via ? `${via.reason}; phase ${phase.name} begins` : `phase ${phase.name} begins: ${b.state.waitReason ?? 'its gates are open'} no longer holds`;
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

export interface CheckpointJudgement {
  index: number;
  of: number;
  due: number;
  from: number;
  window: string;
  metrics: MetricResult[];
  outcome: CheckpointOutcome;
}

/** Decides on a judged checkpoint of the current phase. */
export function decideCheckpoint(b: DecisionBuilder, j: CheckpointJudgement): void {
  const { plan } = b.ctx;
  const spec = plan.spec;
  const o = j.outcome.outcome;
  const last = j.index >= j.of - 1;
  const passes = o === 'pass' || (o === 'caution' && (!last || spec.analysis.onCaution === 'advance'));
  // Inconclusive, or a caution at the phase's last checkpoint with onCaution: hold.
  const attempt = o !== 'fail' && !passes ? b.state.inconclusive + 1 : undefined;
  const base: Draft = {
    kind: 'checkpoint',
    decision: 'continue',
    reason: j.outcome.reason,
    score: j.outcome.score,
    outcome: j.outcome.label,
    metrics: j.metrics,
    checkpoint: {
      index: j.index + 1,
      of: j.of,
      due: isoTime(j.due),
      window: j.window,
      from: isoTime(j.from),
      lateSeconds: Math.max(0, Math.round((b.now - j.due) / 1000)),
      ...(attempt !== undefined ? { attempt } : {}),
    },
  };
  // A query Prometheus refused is a plan problem: no retry fixes it, so the rollout pauses at
  // once for a person (unless another metric gives evidence of a breach: that rolls back).
  const refused = badQueries(j.metrics);
  const breach = o === 'fail' && j.metrics.some((m) => m.verdict === 'fail');
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
      b.push({ ...base, decision: 'complete', reason: `${j.outcome.reason}; last phase passed, rollout complete` });
      return;
    }
    // The checkpoint record itself carries advance or wait; fold the position first.
    b.state = { ...b.state, checkpointIndex: j.index + 1, evidenceFrom: j.due };
    enterPhase(b, next, { ...base, reason: `${j.outcome.reason}; phase ${spec.phases[b.state.phaseIndex]!.name} passed` });
    return;
  }
  const n = attempt!;
  if (n > spec.analysis.inconclusiveLimit) {
    const why = `${j.outcome.reason}; ${n} inconclusive judgements in a row (inconclusiveLimit ${spec.analysis.inconclusiveLimit})`;
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
    next: done ? undefined : { what: 'next rollback step', at: isoTime(at) },
  });
}

/** The next step of a gradual rollback. */
export function decideRollbackStep(b: DecisionBuilder): void {
  const to = rollbackSteps(b.ctx.plan, b.state.weight)[0] ?? 0;
  pushRollbackStep(b, to, {
    kind: b.state.rollbackKind ?? 'lifecycle',
    decision: 'rollback',
    reason: `gradual rollback step ${b.state.weight}% -> ${to}%`,
  });
}

export interface GuardBreach {
  reason: string;
  metrics: MetricResult[];
}

export function decideGuardRollback(b: DecisionBuilder, breach: GuardBreach): void {
  startRollback(b, { kind: 'guard', decision: 'rollback', reason: breach.reason, metrics: breach.metrics });
}

/** `error-rate: bad query (...): Prometheus said: ...; query: ...` for each refused metric. */
function badQueryText(refused: MetricResult[]): string {
  return refused.map((m) => `${m.name}: ${m.reason ?? 'bad query'}`).join(', ');
}

function fixThePlan(plan: Plan): string {
  return `paused for a person: fix the query in the plan, then rollgate resume ${plan.metadata.name}`;
}

/**
 * The guard met a query Prometheus refused: the rollout is unguarded for that metric, so it
 * pauses at once (a progressing or waiting rollout; a paused one stays paused).
 */
export function decideGuardPause(b: DecisionBuilder, metrics: MetricResult[]): void {
  if (b.state.status !== 'progressing' && b.state.status !== 'waiting') return;
  b.push({ kind: 'guard', decision: 'pause', reason: `guard: ${badQueryText(badQueries(metrics))}; ${fixThePlan(b.ctx.plan)}`, metrics });
}

/** While waiting: begins the phase when its gates open, or records a changed wait. */
export function decideWaiting(b: DecisionBuilder): void {
  enterPhase(b, b.state.phaseIndex, null);
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
          b.push({ kind: 'manual', decision: 'promote', reason: why(`remaining checkpoints of ${s.phaseName} skipped`) });
          b.push({ kind: 'manual', decision: 'complete', reason: 'promoted past the last phase: rollout complete' });
          return { accepted: true, message: `${name} promoted: complete` };
        }
        b.push({ kind: 'manual', decision: 'promote', reason: why(`remaining checkpoints of ${s.phaseName} skipped`), enters: enters(plan, next) });
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

/** The plan file changed: same revision keeps the position, a new revision starts over. */
export function decidePlanUpdate(b: DecisionBuilder): void {
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
    return;
  }
  b.push({ kind: 'lifecycle', decision: 'plan-updated', reason: `${reason}; phase ${s.phaseName} is gone` });
  if (!isTerminal(b.state) && b.state.status !== 'paused' && b.state.status !== 'rolling-back') {
    b.push({ kind: 'lifecycle', decision: 'pause', reason: `phase ${s.phaseName} is no longer in the plan; paused for a person (retry, abort)` });
  }
}


/**
 * The decision log: exactly one pino line per decision, with every value needed to understand
 * it both as structured fields (for queries) and in the message (for people).
 */
import type { Decision, DecisionRecord } from '../core/record.js';
import type { Logger } from '../support/log.js';
import { formatDecisionLine } from './decision-text.js';
import { judgeFields } from './judgement-text.js';

export { formatDecisionText, formatDecisionLine } from './decision-text.js';

/**
 * Decisions logged at warn: the rollout is going backwards or needs a human. Everything else,
 * holds included (an inconclusive checkpoint is routine and judged again), is info.
 */
export const WARN_DECISIONS: ReadonlySet<Decision> = new Set<Decision>(['rollback', 'abort', 'pause']);

export function decisionLevel(decision: Decision): 'info' | 'warn' {
  return WARN_DECISIONS.has(decision) ? 'warn' : 'info';
}

/**
 * The structured fields of a decision's log line. Queries are left out (they are in the
 * journal record, `seq` finds it); values, thresholds, verdicts and each judge's numbers
 * (baseline, bound, counts, e-value, interval, ...: judgement-text.ts JUDGE_FIELDS) are all in.
 */
export function decisionFields(r: DecisionRecord): Record<string, unknown> {
  return {
    event: 'decision',
    seq: r.seq,
    rollout: r.rollout,
    revision: r.revision,
    kind: r.kind,
    phase: r.phase,
    checkpoint: r.checkpoint,
    decision: r.decision,
    reason: r.reason,
    score: r.score ?? null,
    outcome: r.outcome,
    weight: r.weight,
    mirror: r.mirror,
    actor: r.actor,
    waitingFor: r.waitingFor,
    next: r.next,
    at: r.at,
    metrics: (r.metrics ?? []).map((m) => ({
      name: m.name,
      value: m.value,
      min: m.min,
      max: m.max,
      rollbackBelow: m.rollbackBelow,
      rollbackAbove: m.rollbackAbove,
      verdict: m.verdict,
      critical: m.critical,
      reason: m.reason,
      ...judgeFields(m),
    })),
  };
}

/** Logs one decision: one line, info or warn (see WARN_DECISIONS). */
export function logDecision(log: Logger, record: DecisionRecord): void {
  log[decisionLevel(record.decision)](decisionFields(record), formatDecisionLine(record));
}

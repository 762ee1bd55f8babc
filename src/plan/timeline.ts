/**
 * The timeline of a plan if every checkpoint passes: when each phase's split would be
 * applied and when each checkpoint falls due, respecting spec.startAt, each phase's startAt
 * and settle, and deployment windows and blackouts for increases. Approvals are shown and
 * assumed granted at once. Used by `rollgate plan`.
 */
import { checkpointDueTimes, judgementTime } from './checkpoints.js';
import { formatWindow } from './duration.js';
import type { Plan } from './schema.js';
import { increaseAllowedAt } from './windows.js';

export interface TimelineWait {
  waitingFor: 'startAt' | 'window' | 'blackout';
  from: number;
  /** When the wait ends; null when it never does (no window ahead). */
  until: number | null;
  /** For startAt: which one (`spec.startAt`, `the startAt of phase x`); else why increases are not allowed. */
  reason: string;
}

export interface TimelineCheckpoint {
  /** 1-based, as in decision records (`index` of `of`). */
  index: number;
  of: number;
  due: number;
  /** The span judged at this checkpoint: [windowStart, due). */
  windowStart: number;
  windowMs: number;
  /** The value of `{{window}}`. */
  window: string;
  /** An instant checkpoint that had already passed when the phase's window opened. */
  late: boolean;
}

export interface TimelinePhase {
  index: number;
  name: string;
  weight: number;
  mirror: number;
  approval: boolean;
  /** When the phase could begin: the previous phase's end, or the rollout's start. */
  readyAt: number;
  waits: TimelineWait[];
  /** When the split is applied; null when it never can be. */
  appliedAt: number | null;
  /** appliedAt + settle: the first checkpoint's span starts here. */
  windowOpensAt: number | null;
  checkpoints: TimelineCheckpoint[];
  /** The last checkpoint's due time. */
  endsAt: number | null;
}

export interface Timeline {
  from: number;
  phases: TimelinePhase[];
  /** When the last phase's last checkpoint passes; null when the rollout cannot finish. */
  completeAt: number | null;
}

function checkpointsFrom(dues: number[], windowOpen: number, retryIntervalMs: number): TimelineCheckpoint[] {
  let prev = windowOpen;
  return dues.map((raw, i) => {
    const due = judgementTime(raw, prev, retryIntervalMs); // as the engine judges it
    const cp: TimelineCheckpoint = {
      index: i + 1,
      of: dues.length,
      due,
      windowStart: prev,
      windowMs: due - prev,
      window: formatWindow(due - prev),
      late: raw < windowOpen,
    };
    prev = due;
    return cp;
  });
}

export function timeline(plan: Plan, from: number): Timeline {
  const { spec } = plan;
  const phases: TimelinePhase[] = [];
  let current = { weight: 0, mirror: 0 };
  let ready: number | null = from;

  spec.phases.forEach((phase, index) => {
    const tp: TimelinePhase = {
      index,
      name: phase.name,
      weight: phase.weight,
      mirror: phase.mirror,
      approval: phase.approval,
      readyAt: ready ?? from,
      waits: [],
      appliedAt: null,
      windowOpensAt: null,
      checkpoints: [],
      endsAt: null,
    };
    phases.push(tp);
    if (ready === null) return; // an earlier phase never begins
    let t = ready;
    const gates: Array<[number | undefined, string]> = [
      [index === 0 ? spec.startAt : undefined, 'spec.startAt'],
      [phase.startAt, `the startAt of phase ${phase.name}`],
    ];
    for (const [at, what] of gates) {
      if (at !== undefined && at > t) {
        tp.waits.push({ waitingFor: 'startAt', from: t, until: at, reason: what });
        t = at;
      }
    }
    if (phase.weight > current.weight || phase.mirror > current.mirror) {
      const allowed = increaseAllowedAt(spec, t);
      if (!allowed.allowed) {
        tp.waits.push({ waitingFor: allowed.waitingFor, from: t, until: allowed.until, reason: allowed.reason });
        if (allowed.until === null) {
          ready = null;
          return;
        }
        t = allowed.until;
      }
    }
    tp.appliedAt = t;
    tp.windowOpensAt = t + phase.settle;
    tp.checkpoints = checkpointsFrom(checkpointDueTimes(phase, tp.windowOpensAt), tp.windowOpensAt, spec.analysis.retryInterval);
    tp.endsAt = tp.checkpoints[tp.checkpoints.length - 1]?.due ?? tp.windowOpensAt;
    current = { weight: phase.weight, mirror: phase.mirror };
    ready = tp.endsAt;
  });

  return { from, phases, completeAt: ready };
}

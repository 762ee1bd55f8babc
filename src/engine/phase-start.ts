/**
 * Whether a phase may begin now, and if not, what it waits for and until when:
 * spec.startAt (first phase), the phase's startAt, its approval, then deployment windows and
 * blackouts for any increase of the canary's weight or mirror.
 */
import type { Plan } from '../plan/schema.js';
import { increaseAllowedAt, planTimeZone } from '../plan/windows.js';
import { formatInstant } from '../support/human-time.js';
import type { RolloutState, WaitReason } from '../core/state.js';

export interface PhaseGate {
  waitingFor: WaitReason;
  reason: string;
  /** When the gate opens by itself; null when a person must act (approval) or never. */
  until: number | null;
}

export interface GateOptions {
  /** Ignore startAt gates (a person promoted past them). */
  skipStartAt?: boolean;
}

export function phaseGate(plan: Plan, state: RolloutState, index: number, now: number, opts: GateOptions = {}): PhaseGate | null {
  const spec = plan.spec;
  const phase = spec.phases[index];
  if (!phase) return null;
  const when = (t: number) => formatInstant(t, planTimeZone(spec));
  if (!opts.skipStartAt) {
    if (index === 0 && spec.startAt !== undefined && now < spec.startAt) {
      return { waitingFor: 'startAt', reason: `waiting for spec.startAt ${when(spec.startAt)}`, until: spec.startAt };
    }
    if (phase.startAt !== undefined && now < phase.startAt) {
      return {
        waitingFor: 'startAt',
        reason: `phase ${phase.name} waits for its startAt ${when(phase.startAt)}`,
        until: phase.startAt,
      };
    }
  }
  if (phase.approval && state.approvedPhase !== index) {
    return {
      waitingFor: 'approval',
      reason: `phase ${phase.name} needs approval: rollgate promote ${plan.metadata.name}`,
      until: null,
    };
  }
  const increases = phase.weight > state.weight || phase.mirror > state.mirror;
  if (increases) {
    const w = increaseAllowedAt(spec, now);
    if (!w.allowed) {
      const next = w.until !== null ? `; next allowed at ${when(w.until)}` : '; no window ahead';
      return { waitingFor: w.waitingFor, reason: `phase ${phase.name} raises the split: ${w.reason}${next}`, until: w.until };
    }
  }
  return null;
}

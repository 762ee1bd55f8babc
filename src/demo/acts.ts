/**
 * The acts of the live demo, on a started live stack (stack.ts), shared by the demo, its e2e
 * test and the breach benchmark:
 *
 * - runAct: writes the plan for a revision and waits for the rollout of that revision to end:
 *   `complete`, a rollback that reached 0% (and was applied by nginx), or a pause.
 * - measureBreachToRollback: from the load generator's own observations, the seconds from the
 *   first failed live response of the canary version to the last live response it served
 *   (after the rollback was applied and a quiet period passed with no canary response).
 */
import type { DecisionRecord } from '../core/record.js';
import type { LiveStack, RolloutAct } from './stack.js';
import { formatSpan } from '../support/human-time.js';

export type ActOutcome = 'complete' | 'rolled back' | 'paused';

export interface ActResult {
  outcome: ActOutcome;
  /** The record that ended the act. */
  final: DecisionRecord;
  /** Every record of this revision. */
  records: DecisionRecord[];
  /** Epoch ms when the plan for the act was written. */
  startedAt: number;
}

function ending(r: DecisionRecord): ActOutcome | null {
  if (r.decision === 'complete') return 'complete';
  if (r.decision === 'rollback' && r.weight.to === 0 && r.mirror.to === 0) return 'rolled back';
  if (r.decision === 'pause') return 'paused';
  return null;
}

/** Runs one act to its end; a rollback is returned once nginx applied it. */
export async function runAct(stack: LiveStack, act: RolloutAct, timeoutMs: number): Promise<ActResult> {
  const startedAt = Date.now();
  await stack.startRollout(act);
  const journal = stack.journal();
  const controller = stack.controller();
  const ended = journal.waitFor((r) => r.revision === act.revision && ending(r) !== null, timeoutMs, `end of the rollout of revision ${act.revision}`);
  // A controller that dies is not waited for.
  const died = controller.exited.then((e) => {
    throw new Error(`rollgate run exited (${JSON.stringify(e)}) during the rollout of ${act.revision}:\n${controller.stderr().slice(-3000)}`);
  });
  died.catch(() => undefined); // handled here; the races below surface it
  const final = await Promise.race([ended, died]);
  const outcome = ending(final)!;
  if (outcome === 'rolled back') {
    await Promise.race([journal.waitForMark(final.seq, 15_000), died]);
  }
  return { outcome, final, records: journal.records().filter((r) => r.revision === act.revision), startedAt };
}

export interface BreachMeasurement {
  /** First failed (5xx) live response served by the canary version (epoch ms). */
  firstFailureAt: number;
  /** Last live response served by the canary version (epoch ms). */
  lastCanaryAt: number;
  seconds: number;
  /** Canary responses seen after the rollback was applied. */
  afterApplied: number;
}

/**
 * Breach to rollback, as users saw it. Call after runAct returned `rolled back`: waits until
 * the canary has served nothing for `quietMs` (at most `timeoutMs`), then measures.
 */
export async function measureBreachToRollback(
  stack: LiveStack,
  canaryVersion: string,
  act: ActResult,
  opts: { quietMs?: number; timeoutMs?: number } = {},
): Promise<BreachMeasurement> {
  const quietMs = opts.quietMs ?? 1_500;
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const { load } = stack;
  for (;;) {
    const last = load.lastServedBy(canaryVersion);
    if (last === null || Date.now() - last >= quietMs) break;
    if (Date.now() > deadline) {
      throw new Error(`the canary ${canaryVersion} still served live requests ${formatSpan(opts.timeoutMs ?? 15_000)} after the rollback (last at ${new Date(last).toISOString()})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const firstFailureAt = load.firstFailure(canaryVersion, act.startedAt);
  if (firstFailureAt === null) throw new Error(`the canary ${canaryVersion} was rolled back, but the load generator saw no failed response from it`);
  const lastCanaryAt = load.lastServedBy(canaryVersion)!;
  const appliedMark = stack.journal().marks().find((m) => m.applied === act.final.seq);
  const appliedAt = appliedMark ? Date.parse(appliedMark.at) : Infinity;
  const afterApplied = load.responses().filter((r) => r.version === canaryVersion && r.at > appliedAt).length;
  return { firstFailureAt, lastCanaryAt, seconds: (lastCanaryAt - firstFailureAt) / 1000, afterApplied };
}

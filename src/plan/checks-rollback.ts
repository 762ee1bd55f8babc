/**
 * Checks of `spec.rollback.steps` (docs/plan-reference.md, "spec.rollback"): the weights a
 * gradual rollback passes through on the way down. From the current weight it goes to the
 * first step below it, from there to the next step below that, and so on to 0 (added when the
 * list does not end with it). So a step not below the one before it is never reached, and a
 * step at or above every phase's weight is never used.
 */
import { error, valueAt, warning, type PathSegment, type PlanIssue } from './diagnostic.js';
import type { Plan } from './schema.js';

const STEPS: PathSegment[] = ['spec', 'rollback', 'steps'];

/** The steps from high to low, duplicates dropped: what the writer most likely meant. */
const descending = (steps: readonly number[]) => [...new Set(steps)].sort((a, b) => b - a);

export function checkRollbackSteps(plan: Plan, _opts: unknown, written: unknown): PlanIssue[] {
  // The default steps suit any plan; only steps the plan writes are judged.
  if (!Array.isArray(valueAt(written, STEPS))) return [];
  const { strategy, steps } = plan.spec.rollback;
  if (strategy === 'immediate') {
    return [warning(STEPS, 'ignored: strategy is immediate (weight and mirror to 0 at once); set strategy: gradual to step down through them')];
  }
  const out: PlanIssue[] = [];
  const fix = `write them from high to low, such as [${descending(steps).join(', ')}]`;
  for (let i = 1; i < steps.length; i++) {
    const [before, step] = [steps[i - 1]!, steps[i]!];
    if (step < before) continue;
    const why =
      before === 0
        ? `${step} after 0 is never reached: the rollback ends at the first 0`
        : `${step} after ${before} is never reached: a gradual rollback goes down through the steps in order, each below the one before`;
    out.push(error([...STEPS, i], `${why}; ${fix}`));
  }
  const highest = Math.max(...plan.spec.phases.map((p) => p.weight));
  steps.forEach((step, i) => {
    if (step > 0 && step >= highest) {
      out.push(warning([...STEPS, i], `${step} is never used: no phase has a weight above ${highest}%, and a rollback only steps down to weights below the current one`));
    }
  });
  return out;
}

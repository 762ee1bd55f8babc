/**
 * The guard the registry wraps every router in (as cluster/fence.ts wraps them for
 * leadership): what each router would otherwise repeat around its `apply`.
 *
 *   1. weight and mirror must be percentages from 0 to 100, else RouterError;
 *   2. a mirror > 0 on a router that cannot mirror (descriptor `mirrors`) is refused before
 *      anything is touched;
 *   3. the split is rounded to what the router can express (descriptor `expressible`), and
 *      only that split is passed on;
 *   4. the split the router answers (what is in effect afterwards) must be that rounded split,
 *      else RouterError: something else changed it (another client, an admission webhook).
 *
 * `read()` passes through.
 */
import { RouterError, sameSplit, type Split, type TrafficRouter } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';

export function formatSplit(s: Split | null): string {
  return s ? `${s.weight}%/${s.mirror}% mirror` : 'no split';
}

export function guardSplits(inner: TrafficRouter, rules: Pick<RouterDescriptor, 'mirrors' | 'expressible'>): TrafficRouter {
  const fail = (message: string): never => {
    throw new RouterError(inner.name, inner.target, message);
  };
  return {
    name: inner.name,
    target: inner.target,
    apply: async (split: Split) => {
      for (const [what, v] of [['weight', split.weight], ['mirror', split.mirror]] as const) {
        if (!Number.isFinite(v) || v < 0 || v > 100) fail(`${what} ${v} is not a percentage from 0 to 100`);
      }
      if (split.mirror > 0 && !rules.mirrors) fail(`${inner.name} cannot mirror requests (mirror ${split.mirror}% requested)`);
      const want = rules.expressible(split);
      const effective = await inner.apply(want);
      if (!sameSplit(effective, want)) {
        fail(`${inner.target} carries ${formatSplit(effective)} right after rollgate set ${formatSplit(want)}; another client is changing it`);
      }
      return effective;
    },
    read: () => inner.read(),
  };
}

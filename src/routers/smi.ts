/**
 * The `smi` router: the canary's share is the weights of two backends of an SMI TrafficSplit
 * (split.smi-spec.io v1alpha4, v1alpha3 or v1alpha2, whichever the cluster prefers; all three
 * carry integer `spec.backends[].weight`). v1alpha1, whose weights are quantities, is not
 * supported. Whole percentages are written as 100-w/w, fractional ones as n/10000.
 *
 * Written with a JSON patch that first tests `spec.backends` as read (a concurrent edit fails
 * the patch and the cycle re-reads), then sets the two weights; nothing else is written.
 * SMI cannot mirror requests.
 */
import { z } from 'zod';
import { PATCH } from '../kube/client.js';
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../support/log.js';
import { nonEmpty } from '../support/zod-fields.js';
import {
  DEFAULT_KUBE_RETRY,
  KubeRouter,
  requireKube,
  shareToWeights,
  weightsToShare,
  type KubeObject,
  type KubePatch,
  type KubeRetryOptions,
} from './kube-router.js';
import { toHundredths } from './precision.js';
import type { Split } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';

export const SMI_VERSIONS = ['v1alpha4', 'v1alpha3', 'v1alpha2'] as const;

interface Backend {
  service?: string;
  weight?: unknown;
  [k: string]: unknown;
}

interface SplitView {
  backends: Backend[];
  stable: number;
  canary: number;
}

export interface SmiTarget {
  namespace: string;
  trafficSplit: string;
  stableBackend: string;
  canaryBackend: string;
}

export class SmiRouter extends KubeRouter<SplitView> {
  readonly name = 'smi';

  constructor(
    kube: KubeClient,
    private readonly cfg: SmiTarget,
    log: Logger,
    retry: KubeRetryOptions = DEFAULT_KUBE_RETRY,
  ) {
    super(kube, { kind: 'TrafficSplit', group: 'split.smi-spec.io', plural: 'trafficsplits', namespace: cfg.namespace, name: cfg.trafficSplit, versions: SMI_VERSIONS, discover: true }, log, retry);
  }

  protected locate(obj: KubeObject): SplitView {
    const backends = (obj.spec as { backends?: Backend[] } | undefined)?.backends ?? [];
    const where = `TrafficSplit ${this.cfg.namespace}/${this.cfg.trafficSplit}`;
    const find = (service: string, role: string) => {
      const i = backends.findIndex((b) => b.service === service);
      if (i < 0) this.fail(`${where} has no backend for the ${role} Service ${service} (backends: ${backends.map((b) => b.service).join(', ') || 'none'})`);
      return i;
    };
    const view = { backends, stable: find(this.cfg.stableBackend, 'stable'), canary: find(this.cfg.canaryBackend, 'canary') };
    backends.forEach((b, i) => {
      const w = this.weightOf(b, where);
      if (i !== view.stable && i !== view.canary && w > 0) {
        this.fail(`${where} also sends traffic to ${b.service} (weight ${w}); rollgate splits between stable and canary only: set its weight to 0 or remove it`);
      }
    });
    return view;
  }

  private weightOf(b: Backend, where: string): number {
    if (typeof b.weight === 'number' && Number.isInteger(b.weight) && b.weight >= 0) return b.weight;
    return this.fail(`${where}: backend ${b.service} has weight ${JSON.stringify(b.weight)}, expected a non-negative integer (split.smi-spec.io v1alpha2 or later)`);
  }

  protected splitOf(view: SplitView): Split | null {
    const where = `TrafficSplit ${this.cfg.namespace}/${this.cfg.trafficSplit}`;
    const weight = weightsToShare(this.weightOf(view.backends[view.stable]!, where), this.weightOf(view.backends[view.canary]!, where));
    return weight === null ? null : { weight, mirror: 0 };
  }

  protected patchFor(view: SplitView, _obj: KubeObject, want: Split): KubePatch {
    const w = shareToWeights(want.weight);
    return {
      type: PATCH.json,
      body: [
        { op: 'test', path: '/spec/backends', value: view.backends },
        { op: 'replace', path: `/spec/backends/${view.stable}/weight`, value: w.stable },
        { op: 'replace', path: `/spec/backends/${view.canary}/weight`, value: w.canary },
      ],
    };
  }
}

const config = z.strictObject({
  trafficSplit: nonEmpty('a TrafficSplit name'),
  namespace: z.string().optional(),
  stableBackend: nonEmpty('a backend (Service) name'),
  canaryBackend: nonEmpty('a backend (Service) name'),
});

export const smiRouter: RouterDescriptor<'smi', typeof config> = {
  name: 'smi',
  config,
  mirrors: false,
  needsKube: true,
  expressible: (split) => ({ weight: toHundredths(split.weight), mirror: 0 }),
  create(cfg, rollout, ctx) {
    const namespace = cfg.namespace ?? rollout.namespace;
    const kube = requireKube('smi', `TrafficSplit ${namespace}/${cfg.trafficSplit}`, ctx);
    return new SmiRouter(kube, { namespace, trafficSplit: cfg.trafficSplit, stableBackend: cfg.stableBackend, canaryBackend: cfg.canaryBackend }, ctx.log);
  },
};

/**
 * The `ingress-nginx` router: the canary's share lives in annotations of the canary Ingress
 * (networking.k8s.io/v1), which the user creates next to the main Ingress (same host and path,
 * canary Service as backend):
 *
 *   nginx.ingress.kubernetes.io/canary: "true"
 *   nginx.ingress.kubernetes.io/canary-weight: "<int>"
 *   nginx.ingress.kubernetes.io/canary-weight-total: "100" | "10000"
 *
 * Whole percentages are written over a total of 100; fractional ones over 10000 (0.5 % =
 * 50/10000), exact to 0.01 %. ingress-nginx honours canary-weight-total only above 100 and
 * since controller v1.2; see docs/routers-kubernetes.md. Only these three annotations are
 * written, with a merge patch carrying metadata.resourceVersion (a concurrent edit is a 409).
 * ingress-nginx cannot mirror a share of requests to the canary.
 */
import { z } from 'zod';
import { PATCH } from '../kube/client.js';
import {
  DEFAULT_KUBE_RETRY,
  KubeRouter,
  requireKube,
  shareToWeights,
  type KubeObject,
  type KubePatch,
  type KubeRetryOptions,
} from './kube-router.js';
import { round6, toHundredths } from './precision.js';
import type { Split } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../support/log.js';
import { nonEmpty } from '../support/zod-fields.js';

export const CANARY = 'nginx.ingress.kubernetes.io/canary';
export const CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';
export const CANARY_WEIGHT_TOTAL = 'nginx.ingress.kubernetes.io/canary-weight-total';

interface IngressView {
  annotations: Record<string, string>;
}

export class IngressNginxRouter extends KubeRouter<IngressView> {
  readonly name = 'ingress-nginx';

  constructor(kube: KubeClient, opts: { namespace: string; canaryIngress: string }, log: Logger, retry: KubeRetryOptions = DEFAULT_KUBE_RETRY) {
    super(kube, { kind: 'Ingress', group: 'networking.k8s.io', plural: 'ingresses', namespace: opts.namespace, name: opts.canaryIngress, versions: ['v1'], discover: false }, log, retry);
  }

  protected locate(obj: KubeObject): IngressView {
    return { annotations: obj.metadata?.annotations ?? {} };
  }

  protected splitOf({ annotations }: IngressView): Split | null {
    if (annotations[CANARY] !== 'true') return null;
    const weight = this.integer(annotations, CANARY_WEIGHT, 0);
    // ingress-nginx uses the total only when it is above 100 (balancer.lua), else 100.
    const total = Math.max(100, this.integer(annotations, CANARY_WEIGHT_TOTAL, 100));
    return { weight: round6(Math.min(100, (weight * 100) / total)), mirror: 0 };
  }

  protected patchFor(_view: IngressView, obj: KubeObject, want: Split): KubePatch {
    const w = shareToWeights(want.weight);
    return {
      type: PATCH.merge,
      body: {
        metadata: {
          resourceVersion: obj.metadata?.resourceVersion,
          annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: String(w.canary), [CANARY_WEIGHT_TOTAL]: String(w.total) },
        },
      },
    };
  }

  private integer(annotations: Record<string, string>, key: string, absent: number): number {
    const raw = annotations[key];
    if (raw === undefined) return absent;
    if (!/^\d+$/.test(raw.trim())) this.fail(`annotation ${key} is "${raw}", expected a non-negative integer`);
    return Number(raw.trim());
  }
}

const config = z.strictObject({ canaryIngress: nonEmpty('an Ingress name'), namespace: z.string().optional() });

export const ingressNginxRouter: RouterDescriptor<'ingress-nginx', typeof config> = {
  name: 'ingress-nginx',
  config,
  mirrors: false,
  needsKube: true,
  expressible: (split) => ({ weight: toHundredths(split.weight), mirror: 0 }),
  create(cfg, rollout, ctx) {
    const namespace = cfg.namespace ?? rollout.namespace;
    const kube = requireKube('ingress-nginx', `Ingress ${namespace}/${cfg.canaryIngress}`, ctx);
    return new IngressNginxRouter(kube, { namespace, canaryIngress: cfg.canaryIngress }, ctx.log);
  },
};

/**
 * The `gateway-api` router: the canary's share is the backendRef weights of one rule of an
 * HTTPRoute (gateway.networking.k8s.io v1, or v1beta1 when that is all the cluster serves):
 *
 *   rules[rule].backendRefs[name=stableBackend].weight = 100 - w   (or 10000 - w*100)
 *   rules[rule].backendRefs[name=canaryBackend].weight = w         (or w*100, for 0.01 % steps)
 *
 * Mirroring is a `RequestMirror` filter on the same rule whose backendRef is the canary
 * Service, with `percent` (whole percentages) or `fraction` (n/10000); it is removed at 0.
 * Written with a JSON patch whose first op tests the rule's content as read, so a concurrent
 * edit of that rule fails the patch (422) and the cycle re-reads; other rules, other backends
 * and other filters are never written.
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
  type JsonPatchOp,
  type KubeObject,
  type KubePatch,
  type KubeRetryOptions,
} from './kube-router.js';
import { round6, toHundredths } from './precision.js';
import type { Split } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';

interface BackendRef {
  name?: string;
  group?: string;
  kind?: string;
  port?: number;
  weight?: number;
  [k: string]: unknown;
}

interface Filter {
  type?: string;
  requestMirror?: { backendRef?: BackendRef; percent?: number; fraction?: { numerator?: number; denominator?: number } };
  [k: string]: unknown;
}

interface Rule {
  backendRefs?: BackendRef[];
  filters?: Filter[];
  [k: string]: unknown;
}

interface RouteView {
  rule: Rule;
  stable: number;
  canary: number;
  /** Index of our RequestMirror filter (to the canary backend), or -1. */
  mirrorFilter: number;
}

export interface GatewayApiTarget {
  namespace: string;
  httpRoute: string;
  rule: number;
  stableBackend: string;
  canaryBackend: string;
}

const isService = (b: BackendRef) => (b.kind ?? 'Service') === 'Service' && (b.group ?? '') === '';
/** Gateway API: an omitted backendRef weight is 1. */
const weightOf = (b: BackendRef) => (typeof b.weight === 'number' ? b.weight : 1);

export class GatewayApiRouter extends KubeRouter<RouteView> {
  readonly name = 'gateway-api';

  constructor(
    kube: KubeClient,
    private readonly cfg: GatewayApiTarget,
    log: Logger,
    retry: KubeRetryOptions = DEFAULT_KUBE_RETRY,
  ) {
    super(
      kube,
      { kind: 'HTTPRoute', group: 'gateway.networking.k8s.io', plural: 'httproutes', namespace: cfg.namespace, name: cfg.httpRoute, versions: ['v1', 'v1beta1'], discover: true },
      log,
      retry,
    );
  }

  protected locate(obj: KubeObject): RouteView {
    const rules = (obj.spec as { rules?: Rule[] } | undefined)?.rules ?? [];
    const rule = rules[this.cfg.rule];
    if (!rule) this.fail(`HTTPRoute ${this.cfg.namespace}/${this.cfg.httpRoute} has no rule at index ${this.cfg.rule} (it has ${rules.length} rule${rules.length === 1 ? '' : 's'}); traffic.gateway-api.rule must point at the rule that routes to ${this.cfg.stableBackend} and ${this.cfg.canaryBackend}`);
    const refs = rule.backendRefs ?? [];
    const find = (name: string, role: string) => {
      const i = refs.findIndex((b) => b.name === name && isService(b));
      if (i < 0) {
        this.fail(`rule ${this.cfg.rule} of HTTPRoute ${this.cfg.namespace}/${this.cfg.httpRoute} has no backendRef to the ${role} Service ${name} (backendRefs: ${refs.map((b) => b.name).join(', ') || 'none'})`);
      }
      return i;
    };
    const stable = find(this.cfg.stableBackend, 'stable');
    const canary = find(this.cfg.canaryBackend, 'canary');
    const others = refs.filter((b, i) => i !== stable && i !== canary && weightOf(b) > 0);
    if (others.length) {
      this.fail(`rule ${this.cfg.rule} of HTTPRoute ${this.cfg.namespace}/${this.cfg.httpRoute} also sends traffic to ${others.map((b) => `${b.name} (weight ${weightOf(b)})`).join(', ')}; rollgate splits a rule between stable and canary only: set their weight to 0 or move them to another rule`);
    }
    const mirrorFilter = (rule.filters ?? []).findIndex((f) => f.type === 'RequestMirror' && f.requestMirror?.backendRef?.name === this.cfg.canaryBackend);
    return { rule, stable, canary, mirrorFilter };
  }

  protected splitOf(view: RouteView): Split | null {
    const refs = view.rule.backendRefs!;
    const weight = weightsToShare(weightOf(refs[view.stable]!), weightOf(refs[view.canary]!));
    if (weight === null) return null;
    return { weight, mirror: this.mirrorOf(view) };
  }

  private mirrorOf(view: RouteView): number {
    if (view.mirrorFilter < 0) return 0;
    const m = view.rule.filters![view.mirrorFilter]!.requestMirror!;
    if (typeof m.percent === 'number') return m.percent;
    if (m.fraction && typeof m.fraction.numerator === 'number') return round6((m.fraction.numerator * 100) / (m.fraction.denominator ?? 100));
    return 100; // a RequestMirror filter without percent/fraction mirrors every request
  }

  protected patchFor(view: RouteView, _obj: KubeObject, want: Split): KubePatch {
    const base = `/spec/rules/${this.cfg.rule}`;
    const w = shareToWeights(want.weight);
    const ops: JsonPatchOp[] = [
      { op: 'test', path: base, value: view.rule },
      { op: 'add', path: `${base}/backendRefs/${view.stable}/weight`, value: w.stable },
      { op: 'add', path: `${base}/backendRefs/${view.canary}/weight`, value: w.canary },
    ];
    if (want.mirror > 0) {
      const filter = this.mirrorFilter(view, want.mirror);
      if (view.mirrorFilter >= 0) ops.push({ op: 'replace', path: `${base}/filters/${view.mirrorFilter}`, value: filter });
      else if (view.rule.filters) ops.push({ op: 'add', path: `${base}/filters/-`, value: filter });
      else ops.push({ op: 'add', path: `${base}/filters`, value: [filter] });
    } else if (view.mirrorFilter >= 0) {
      ops.push({ op: 'remove', path: `${base}/filters/${view.mirrorFilter}` });
    }
    return { type: PATCH.json, body: ops };
  }

  private mirrorFilter(view: RouteView, mirror: number): Filter {
    const canary = view.rule.backendRefs![view.canary]!;
    const backendRef: BackendRef = { name: this.cfg.canaryBackend, ...(typeof canary.port === 'number' ? { port: canary.port } : {}) };
    const hundredths = Math.round(mirror * 100);
    const share = hundredths % 100 === 0 ? { percent: hundredths / 100 } : { fraction: { numerator: hundredths, denominator: 10_000 } };
    return { type: 'RequestMirror', requestMirror: { backendRef, ...share } };
  }
}

const config = z.strictObject({
  httpRoute: nonEmpty('an HTTPRoute name'),
  namespace: z.string().optional(),
  rule: z.number().int().min(0).default(0),
  stableBackend: nonEmpty('a backend (Service) name'),
  canaryBackend: nonEmpty('a backend (Service) name'),
});

export const gatewayApiRouter: RouterDescriptor<'gateway-api', typeof config> = {
  name: 'gateway-api',
  config,
  mirrors: true,
  needsKube: true,
  expressible: (split) => ({ weight: toHundredths(split.weight), mirror: toHundredths(split.mirror) }),
  create(cfg, rollout, ctx) {
    const namespace = cfg.namespace ?? rollout.namespace;
    const kube = requireKube('gateway-api', `HTTPRoute ${namespace}/${cfg.httpRoute}`, ctx);
    return new GatewayApiRouter(kube, { namespace, httpRoute: cfg.httpRoute, rule: cfg.rule, stableBackend: cfg.stableBackend, canaryBackend: cfg.canaryBackend }, ctx.log);
  },
};

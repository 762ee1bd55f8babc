/**
 * The `istio` router: the canary's share is the destination weights of one HTTP route of a
 * VirtualService (networking.istio.io v1, v1beta1 or v1alpha3, whichever the cluster prefers):
 * the route named `traffic.istio.route`, else the first one. Istio takes integer weights
 * summing to 100, so the share is rounded to a whole percentage and the effective split is
 * returned. Mirroring is `mirror: {host, subset}` + `mirrorPercentage: {value}` on the same
 * route, removed at 0; a mirror to another destination is never replaced.
 *
 * Written with a JSON patch that first tests the route as read (a concurrent edit fails the
 * patch and the cycle re-reads); other routes, destinations and fields are never written.
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
  weightsToShare,
  type JsonPatchOp,
  type KubeObject,
  type KubePatch,
  type KubeRetryOptions,
} from './kube-router.js';
import { round6 } from './precision.js';
import type { Split } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';

export interface Destination {
  host: string;
  subset?: string | undefined;
}

interface RouteDestination {
  destination?: { host?: string; subset?: string; [k: string]: unknown };
  weight?: number;
  [k: string]: unknown;
}

interface HttpRoute {
  name?: string;
  route?: RouteDestination[];
  mirror?: { host?: string; subset?: string; [k: string]: unknown };
  mirrorPercentage?: { value?: number };
  mirrorPercent?: number;
  [k: string]: unknown;
}

interface RouteView {
  index: number;
  http: HttpRoute;
  stable: number;
  canary: number;
  /** `ours`: mirror to the canary; `foreign`: mirror to something else; `none`. */
  mirror: 'ours' | 'foreign' | 'none';
}

export interface IstioTarget {
  namespace: string;
  virtualService: string;
  route?: string | undefined;
  stable: Destination;
  canary: Destination;
}

const matches = (d: { host?: string; subset?: string } | undefined, want: Destination) =>
  d !== undefined && d.host === want.host && (d.subset ?? undefined) === (want.subset ?? undefined);

const describe = (d: Destination) => (d.subset ? `${d.host} subset ${d.subset}` : d.host);

export class IstioRouter extends KubeRouter<RouteView> {
  readonly name = 'istio';

  constructor(
    kube: KubeClient,
    private readonly cfg: IstioTarget,
    log: Logger,
    retry: KubeRetryOptions = DEFAULT_KUBE_RETRY,
  ) {
    super(
      kube,
      { kind: 'VirtualService', group: 'networking.istio.io', plural: 'virtualservices', namespace: cfg.namespace, name: cfg.virtualService, versions: ['v1', 'v1beta1', 'v1alpha3'], discover: true },
      log,
      retry,
    );
  }

  protected locate(obj: KubeObject): RouteView {
    const where = `VirtualService ${this.cfg.namespace}/${this.cfg.virtualService}`;
    const routes = (obj.spec as { http?: HttpRoute[] } | undefined)?.http ?? [];
    let index = 0;
    if (this.cfg.route !== undefined) {
      index = routes.findIndex((h) => h.name === this.cfg.route);
      if (index < 0) this.fail(`${where} has no http route named ${this.cfg.route} (http routes: ${routes.map((h, i) => h.name ?? `#${i} (unnamed)`).join(', ') || 'none'})`);
    } else if (routes.length === 0) {
      this.fail(`${where} has no http routes; rollgate sets the weights of the first one (or of traffic.istio.route)`);
    }
    const http = routes[index]!;
    const label = http.name ? `http route ${http.name}` : `http route #${index}`;
    const dests = http.route ?? [];
    const find = (want: Destination, role: string) => {
      const i = dests.findIndex((d) => matches(d.destination, want));
      if (i < 0) {
        const have = dests.map((d) => (d.destination?.host ? describe({ host: d.destination.host, subset: d.destination.subset }) : '?')).join(', ');
        this.fail(`${label} of ${where} has no destination for the ${role} ${describe(want)} (destinations: ${have || 'none'})`);
      }
      return i;
    };
    const stable = find(this.cfg.stable, 'stable');
    const canary = find(this.cfg.canary, 'canary');
    const others = dests.filter((d, i) => i !== stable && i !== canary && this.weightOf(d, dests.length) > 0);
    if (others.length) {
      this.fail(`${label} of ${where} also sends traffic to ${others.map((d) => `${d.destination?.host} (weight ${d.weight})`).join(', ')}; rollgate splits a route between stable and canary only`);
    }
    const mirror = http.mirror === undefined ? 'none' : matches(http.mirror, this.cfg.canary) ? 'ours' : 'foreign';
    return { index, http, stable, canary, mirror };
  }

  /** Istio: a lone destination without weight takes everything; otherwise an absent weight is 0. */
  private weightOf(d: RouteDestination, count: number): number {
    if (typeof d.weight === 'number') return d.weight;
    return count === 1 ? 100 : 0;
  }

  protected splitOf(view: RouteView): Split | null {
    const dests = view.http.route!;
    const weight = weightsToShare(this.weightOf(dests[view.stable]!, dests.length), this.weightOf(dests[view.canary]!, dests.length));
    if (weight === null) return null;
    let mirror = 0;
    if (view.mirror === 'ours') mirror = view.http.mirrorPercentage?.value ?? view.http.mirrorPercent ?? 100;
    return { weight, mirror };
  }

  protected patchFor(view: RouteView, _obj: KubeObject, want: Split): KubePatch {
    const base = `/spec/http/${view.index}`;
    const ops: JsonPatchOp[] = [
      { op: 'test', path: base, value: view.http },
      { op: 'add', path: `${base}/route/${view.stable}/weight`, value: 100 - want.weight },
      { op: 'add', path: `${base}/route/${view.canary}/weight`, value: want.weight },
    ];
    if (want.mirror > 0) {
      if (view.mirror === 'foreign') {
        this.fail(`the http route already mirrors to ${view.http.mirror?.host}; rollgate will not replace another mirror (remove it, or set mirror 0 in the plan)`);
      }
      const { host, subset } = this.cfg.canary;
      ops.push({ op: 'add', path: `${base}/mirror`, value: { host, ...(subset ? { subset } : {}) } });
      ops.push({ op: 'add', path: `${base}/mirrorPercentage`, value: { value: want.mirror } });
      if (view.http.mirrorPercent !== undefined) ops.push({ op: 'remove', path: `${base}/mirrorPercent` });
    } else if (view.mirror === 'ours') {
      ops.push({ op: 'remove', path: `${base}/mirror` });
      if (view.http.mirrorPercentage !== undefined) ops.push({ op: 'remove', path: `${base}/mirrorPercentage` });
      if (view.http.mirrorPercent !== undefined) ops.push({ op: 'remove', path: `${base}/mirrorPercent` });
    }
    return { type: PATCH.json, body: ops };
  }
}

const backendRef = z.strictObject({ host: nonEmpty('a host'), subset: z.string().optional() });

const config = z.strictObject({
  virtualService: nonEmpty('a VirtualService name'),
  namespace: z.string().optional(),
  route: z.string().optional(),
  stable: backendRef,
  canary: backendRef,
});

export const istioRouter: RouterDescriptor<'istio', typeof config> = {
  name: 'istio',
  config,
  mirrors: true,
  needsKube: true,
  // Istio's destination weights are integers summing to 100; mirrorPercentage is a double.
  expressible: (split) => ({ weight: Math.round(split.weight), mirror: round6(split.mirror) }),
  create(cfg, rollout, ctx) {
    const namespace = cfg.namespace ?? rollout.namespace;
    const kube = requireKube('istio', `VirtualService ${namespace}/${cfg.virtualService}`, ctx);
    return new IstioRouter(kube, { namespace, virtualService: cfg.virtualService, route: cfg.route, stable: cfg.stable, canary: cfg.canary }, ctx.log);
  },
};

/**
 * The router registry: one line per adapter (principle 5). Routers not built yet are absent,
 * never faked; plans naming them validate (mirror capability is known for all) but cannot run.
 */
import { ROUTERS, rolloutId, type Plan, type RouterName } from '../plan/schema.js';
import { fileRouterAdapter } from './file.js';
import { nginxRouterAdapter } from './nginx.js';
import { haproxyRouterAdapter } from './haproxy.js';
import { ingressNginxRouterAdapter } from './ingress-nginx.js';
import { gatewayApiRouterAdapter } from './gateway-api.js';
import { smiRouterAdapter } from './smi.js';
import { istioRouterAdapter } from './istio.js';
import type { TrafficRouter } from '../core/router.js';
import type { RouterAdapter, RouterContext } from './adapter.js';

export const routerAdapters: Partial<Record<RouterName, RouterAdapter>> = {
  file: fileRouterAdapter,
  nginx: nginxRouterAdapter,
  haproxy: haproxyRouterAdapter,
  'ingress-nginx': ingressNginxRouterAdapter,
  'gateway-api': gatewayApiRouterAdapter,
  smi: smiRouterAdapter,
  istio: istioRouterAdapter,
};

/** Whether each router can copy requests to the canary (docs/plan-reference.md, traffic). */
const MIRROR_CAPABLE: Record<RouterName, boolean> = {
  file: true,
  nginx: true,
  haproxy: false,
  'ingress-nginx': false,
  'gateway-api': true,
  smi: false,
  istio: true,
};

export function canMirror(router: RouterName): boolean {
  return MIRROR_CAPABLE[router];
}

/** The routers this build can drive. */
export function availableRouters(): RouterName[] {
  return ROUTERS.filter((r) => routerAdapters[r] !== undefined);
}

export function createRouter(plan: Plan, ctx: RouterContext): TrafficRouter {
  const name = plan.spec.traffic.router;
  const adapter = routerAdapters[name];
  if (!adapter) {
    throw new Error(
      `rollout ${rolloutId(plan)}: router ${name} is not available in this build of rollgate (available: ${availableRouters().join(', ')})`,
    );
  }
  return adapter.create(plan, ctx);
}

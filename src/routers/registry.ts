/**
 * The router registry: the one list of router descriptors, one line per router (docs/routers.md,
 * "How to add a router"). The plan schema and its mirror check (src/plan/), the CRD and the
 * hosts derive from it; `createRouter` builds a plan's router wrapped in the split guard.
 */
import { fileRouter } from './file.js';
import { nginxRouter } from './nginx.js';
import { haproxyRouter } from './haproxy.js';
import { ingressNginxRouter } from './ingress-nginx.js';
import { gatewayApiRouter } from './gateway-api.js';
import { smiRouter } from './smi.js';
import { istioRouter } from './istio.js';
import { guardSplits } from './split-guard.js';
import type { TrafficRouter } from '../core/router.js';
import type { RouterContext, RouterDescriptor } from './descriptor.js';

export const ROUTER_DESCRIPTORS = [
  fileRouter,
  nginxRouter,
  haproxyRouter,
  ingressNginxRouter,
  gatewayApiRouter,
  smiRouter,
  istioRouter,
] as const;

/** What createRouter reads of a plan: its identity and its `traffic` section. */
export interface RoutedPlan {
  metadata: { name: string; namespace?: string | undefined };
  spec: { traffic: { router: string } & { [block: string]: unknown } };
}

/** The descriptor of the router named `name` (`traffic.router`), if the list has one. */
export function routerDescriptor(name: string, routers: readonly RouterDescriptor[] = ROUTER_DESCRIPTORS): RouterDescriptor | undefined {
  return routers.find((r) => r.name === name);
}

/**
 * Builds the router of a plan validated against the same list (so its `traffic.<router>` block
 * has the descriptor's config shape), wrapped in the split guard (split-guard.ts).
 */
export function createRouter(plan: RoutedPlan, ctx: RouterContext, routers: readonly RouterDescriptor[] = ROUTER_DESCRIPTORS): TrafficRouter {
  const namespace = plan.metadata.namespace ?? 'default';
  const { traffic } = plan.spec;
  const descriptor = routerDescriptor(traffic.router, routers);
  if (!descriptor) {
    throw new Error(
      `rollout ${namespace}/${plan.metadata.name}: router ${traffic.router} is not available in this build of rollgate (available: ${routers.map((r) => r.name).join(', ')})`,
    );
  }
  const config = traffic[descriptor.name];
  if (config === undefined) throw new Error(`rollout ${namespace}/${plan.metadata.name}: traffic.router is ${descriptor.name} but the traffic.${descriptor.name} block is missing`);
  return guardSplits(descriptor.create(config, { namespace, name: plan.metadata.name }, ctx), descriptor);
}

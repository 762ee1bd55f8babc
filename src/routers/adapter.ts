/**
 * What a router adapter is given and what it provides: the registry (registry.ts) maps each
 * `traffic.router` name to one adapter.
 */
import type { Plan } from '../plan/schema.js';
import type { Logger } from '../support/log.js';
import type { KubeClient } from '../kube/client.js';
import type { TrafficRouter } from '../core/router.js';

export interface RouterContext {
  log: Logger;
  /** The Kubernetes API, for the routers that patch cluster objects (ingress-nginx, gateway-api, smi, istio). */
  kube?: KubeClient;
}

export interface RouterAdapter {
  /** Whether the router can copy requests to the canary (`mirror` > 0). */
  canMirror: boolean;
  create(plan: Plan, ctx: RouterContext): TrafficRouter;
}


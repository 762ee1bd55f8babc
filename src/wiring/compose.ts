/**
 * The composition root: the one place that builds the Kubernetes client and the routers of the
 * registry, and hands them to the two modes. The CLI commands call it; nothing below it
 * builds a `KubeClient` or a router (test/unit/architecture-layers.test.ts checks).
 */
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { QueryPool } from '../metrics/query-pool.js';
import type { TrafficRouter } from '../core/router.js';
import type { LoadedPlan } from '../plan/load.js';
import { createRouter, routerDescriptor } from '../routers/registry.js';
import { rolloutId } from '../plan/schema.js';
import { rolloutLogger, type Logger } from '../support/log.js';
import { StandaloneController, type StandaloneOptions } from '../standalone/host.js';
import { KubeController, type KubeControllerOptions } from '../cluster/host.js';

/** A client for the kubeconfig (default: KUBECONFIG, else ~/.kube/config, else the in-cluster service account) and context; a KubeConfigError when there is none. */
export function kubeClient(opts: { kubeconfig?: string; context?: string } = {}): KubeClient {
  return new KubeClient(loadKubeConfig(opts));
}

/**
 * Builds each plan's router from the registry, giving `kube()` to the routers whose descriptor
 * says `needsKube`; the router's log lines name its rollout.
 */
export function registryRouters(log: Logger, kube: () => KubeClient | null): (loaded: LoadedPlan) => TrafficRouter {
  return (loaded) => {
    const client = routerDescriptor(loaded.plan.spec.traffic.router)?.needsKube ? kube() : null;
    return createRouter(loaded.plan, { log: rolloutLogger(log, rolloutId(loaded.plan)), ...(client ? { kube: client } : {}) });
  };
}

/** What the CLI sets for the process: `--max-queries`, the cap of the one query pool of the process. */
export interface ProcessOptions {
  maxQueries?: number | undefined;
}

/** The one pool of Prometheus queries of the process, unless the caller brings its own. */
function queryPool(opts: { queryPool?: QueryPool } & ProcessOptions): QueryPool {
  return opts.queryPool ?? new QueryPool(opts.maxQueries !== undefined ? { maxInFlight: opts.maxQueries } : {});
}

/** `rollgate run`: Kubernetes routers use the default kubeconfig when there is one (read at their first use). */
export function openStandalone(opts: Omit<StandaloneOptions, 'routerFor'> & Partial<Pick<StandaloneOptions, 'routerFor'>> & ProcessOptions): Promise<StandaloneController> {
  let kube: KubeClient | null | undefined;
  const defaultKube = (): KubeClient | null => {
    if (kube === undefined) {
      try {
        kube = kubeClient();
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'no Kubernetes API for Kubernetes routers');
        kube = null;
      }
    }
    return kube;
  };
  return StandaloneController.open({ ...opts, routerFor: opts.routerFor ?? registryRouters(opts.log, defaultKube), queryPool: queryPool(opts) });
}

/** `rollgate controller`: every router that needs the Kubernetes API uses the controller's client. */
export function startInCluster(opts: Omit<KubeControllerOptions, 'routerFor'> & Partial<Pick<KubeControllerOptions, 'routerFor'>> & ProcessOptions): Promise<KubeController> {
  return KubeController.start({ ...opts, routerFor: opts.routerFor ?? registryRouters(opts.log, () => opts.client), queryPool: queryPool(opts) });
}

/**
 * What a router file exports: one descriptor saying everything the rest of rollgate needs to
 * know about the router. The registry (registry.ts) lists them; the plan schema, the mirror
 * check, the CRD and the hosts derive from that list (docs/routers.md, "How to add a router").
 */
import type { z } from 'zod';
import type { Logger } from '../support/log.js';
import type { KubeClient } from '../kube/client.js';
import type { Split, TrafficRouter } from '../core/router.js';

/** The rollout a router serves: names in its files and the default namespace of its objects derive from it. */
export interface RolloutRef {
  /** `metadata.namespace`, `default` when absent. */
  namespace: string;
  name: string;
}

export interface RouterContext {
  log: Logger;
  /** The Kubernetes API, given by the host to the routers whose descriptor says `needsKube`. */
  kube?: KubeClient;
}

export interface RouterDescriptor<Name extends string = string, Config extends z.ZodType = z.ZodType> {
  /** The name plans give as `traffic.router`, and the key of its block under `traffic`. */
  readonly name: Name;
  /** The zod schema of `traffic.<name>`; the plan schema and the CRD are built from it. */
  readonly config: Config;
  /** Whether the router can copy requests to the canary (`mirror` > 0). */
  readonly mirrors: boolean;
  /** Whether the router needs the Kubernetes client (the host builds one only for such plans). */
  readonly needsKube: boolean;
  /**
   * The split the router can express nearest to a wanted one (a 0-100 split): its precision.
   * The router is only ever asked for splits this returns (split-guard.ts).
   */
  expressible(split: Split): Split;
  /** Builds the router from its validated `traffic.<name>` block. */
  create(config: z.output<Config>, rollout: RolloutRef, ctx: RouterContext): TrafficRouter;
}

/**
 * The RolloutPlan custom resource as the API serves it (rollgate.dev/v1alpha1, plural
 * rolloutplans, namespaced, with a status subresource): its shape, its API paths, and the
 * names shared by the controller and the CLI (the request annotation, the journal ConfigMap).
 */
import type { DecisionRecord } from '../core/record.js';
import type { KubeObject } from '../kube/objects.js';

export const GROUP = 'rollgate.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'rolloutplans';
export const RESOURCE_API_VERSION = `${GROUP}/${VERSION}`;
export const RESOURCE_KIND = 'RolloutPlan';

/** The annotation a person (through `rollgate pause|resume|...`) writes to ask for a manual action. */
export const REQUEST_ANNOTATION = 'rollgate.dev/request';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const ROLLOUT_LABEL = 'rollgate.dev/rollout';
/** Component name in Events, labels and field managers. */
export const COMPONENT = 'rollgate';

/** The answer to a manual request, in `status.lastRequest`. */
export interface LastRequest {
  id: string;
  accepted: boolean;
  message: string;
  /** The decision the request produced; null (not absent) so a merge patch clears an older one. */
  seq?: number | null;
}

/** `status` of a RolloutPlan, as written by the controller (merge patch on /status). */
export interface RolloutPlanStatus {
  observedGeneration?: number;
  revision?: string;
  planHash?: string;
  status?: string;
  phase?: string | null;
  weight?: number;
  mirror?: number;
  /** `2/6`: the checkpoint last judged of the phase. */
  checkpoint?: string | null;
  lastDecision?: string | null;
  lastDecisionAt?: string | null;
  nextAt?: string | null;
  seq?: number;
  records?: DecisionRecord[];
  counts?: Record<string, number>;
  lastRequest?: LastRequest;
  /**
   * Who wrote this status: the replica's identity and the Lease (`namespace/name`) it held for
   * the plan's shard. `rollgate status` reads that Lease to tell whether a live leader still
   * writes the status.
   */
  controller?: { identity: string; lease: string };
  /**
   * The guard between checkpoints: its failing evaluations in a row (`strikes`), the number that
   * rolls back (`consecutive`) and its interval (a duration). Null when the guard watches no metric.
   */
  guard?: { strikes: number; consecutive: number; interval: string } | null;
}

export interface RolloutPlanObject extends KubeObject {
  spec?: unknown;
  status?: RolloutPlanStatus;
}

const enc = encodeURIComponent;

/** The collection path: every namespace, or one. */
export function rolloutPlansPath(namespace?: string): string {
  return namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${enc(namespace)}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
}

export function rolloutPlanPath(namespace: string, name: string): string {
  return `${rolloutPlansPath(namespace)}/${enc(name)}`;
}

export function rolloutPlanStatusPath(namespace: string, name: string): string {
  return `${rolloutPlanPath(namespace, name)}/status`;
}

/** The journal ConfigMap of a rollout. */
export function journalConfigMapName(name: string): string {
  return `rollgate-journal-${name}`;
}

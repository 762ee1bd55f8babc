/**
 * The RolloutPlan custom resource as the API serves it (rollgate.dev/v1alpha1, plural
 * rolloutplans, namespaced, with a status subresource): its shape, its API paths, and the
 * names shared by the controller and the CLI (the request annotation, the journal ConfigMap).
 */
import type { DecisionRecord } from '../journal/record.js';

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

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

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
}

export interface RolloutPlanObject extends KubeObject {
  spec?: unknown;
  status?: RolloutPlanStatus;
}

/** `namespace/name` of an object. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
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

export function configMapPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/configmaps${name ? `/${enc(name)}` : ''}`;
}

export function eventsPath(namespace: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/events`;
}

export function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases${name ? `/${enc(name)}` : ''}`;
}

/** The journal ConfigMap of a rollout. */
export function journalConfigMapName(name: string): string {
  return `rollgate-journal-${name}`;
}

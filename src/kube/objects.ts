/**
 * Kubernetes API objects as rollgate reads them (metadata, lists) and the paths of the core
 * resources it uses (ConfigMaps, Events, Leases).
 */

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

/** `namespace/name` of an object. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

const enc = encodeURIComponent;

export function configMapPath(namespace: string, name?: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/configmaps${name ? `/${enc(name)}` : ''}`;
}

export function eventsPath(namespace: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/events`;
}

export function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases${name ? `/${enc(name)}` : ''}`;
}


/**
 * The objects of every input file, by kind: the resources to convert (Argo Rollouts'
 * `Rollout`, Flagger's `Canary`) and the ones they refer to (AnalysisTemplates,
 * ClusterAnalysisTemplates, MetricTemplates, AlertProviders, Deployments, DestinationRules).
 */
import { Fields, type SourceDocument } from './source.js';

export interface SourceObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  fields: Fields;
}

/** The API group of `apiVersion` (`argoproj.io/v1alpha1` -> `argoproj.io`; core `v1` -> ``). */
export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

export class SourceLibrary {
  readonly objects: SourceObject[] = [];

  constructor(documents: readonly SourceDocument[]) {
    for (const doc of documents) {
      const d = doc.data;
      if (d === null || typeof d !== 'object' || Array.isArray(d)) continue;
      const o = d as Record<string, unknown>;
      const meta = (o.metadata ?? {}) as Record<string, unknown>;
      if (typeof o.kind !== 'string' || typeof o.apiVersion !== 'string') continue;
      this.objects.push({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: typeof meta.name === 'string' ? meta.name : '',
        namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
        fields: new Fields(doc),
      });
    }
  }

  /**
   * The object of `group` and `kind` named `name`; a namespaced one must be in `namespace`
   * when both name one (an object without a namespace matches any).
   */
  find(group: string, kind: string, name: string, namespace?: string): SourceObject | undefined {
    return this.objects.find(
      (o) => groupOf(o.apiVersion) === group && o.kind === kind && o.name === name && (namespace === undefined || o.namespace === undefined || o.namespace === namespace),
    );
  }

  /** The first container image of a Deployment's pod template, if the Deployment is in the input. */
  deploymentImage(name: string, namespace: string | undefined): string | undefined {
    const dep = this.find('apps', 'Deployment', name, namespace);
    const image = dep?.fields.raw('spec', 'template', 'spec', 'containers', 0, 'image');
    return typeof image === 'string' ? image : undefined;
  }
}

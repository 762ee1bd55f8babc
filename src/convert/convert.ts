/**
 * Which converter each input object goes to: every Argo Rollouts `Rollout` and Flagger `Canary`
 * of the input becomes one plan; the other objects (templates, Deployments, ...) are what they
 * refer to.
 */
import { ARGO_GROUP, convertRollout } from './argo-rollouts.js';
import type { PlanDraft } from './draft.js';
import { convertCanary, FLAGGER_GROUP } from './flagger.js';
import { groupOf, SourceLibrary } from './library.js';
import { ConvertError, type SourceDocument } from './source.js';

/** The plans of every Rollout and Canary in `documents`, in input order. Throws a ConvertError at the first problem. */
export function convertDocuments(documents: readonly SourceDocument[], files: readonly string[]): PlanDraft[] {
  const lib = new SourceLibrary(documents);
  const drafts: PlanDraft[] = [];
  for (const o of lib.objects) {
    const group = groupOf(o.apiVersion);
    if (group === ARGO_GROUP && o.kind === 'Rollout') drafts.push(convertRollout(o, lib));
    else if (group === FLAGGER_GROUP && o.kind === 'Canary') drafts.push(convertCanary(o, lib));
  }
  if (drafts.length === 0) {
    const kinds = [...new Set(lib.objects.map((o) => `${o.kind} (${o.apiVersion})`))];
    const found = kinds.length > 0 ? `found ${kinds.join(', ')}` : 'found no Kubernetes object';
    const message = `expected an Argo Rollouts Rollout (argoproj.io/v1alpha1) or a Flagger Canary (flagger.app/v1beta1): ${found}`;
    throw new ConvertError({ file: files.join(', '), line: 0, col: 0, path: '(file)', message, severity: 'error' });
  }
  return drafts;
}

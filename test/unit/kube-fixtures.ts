/**
 * Shared by the kube-* tests: a KubeConfig pointing at https://k8s.test:6443 (every request
 * is intercepted with nock), RolloutPlan objects shaped as the API serves them, records.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import type { DecisionRecord, AppliedMark } from '../../src/core/record.js';
import type { RolloutPlanObject, RolloutPlanStatus } from '../../src/cluster/rolloutplans.js';
import { record as fixture, ROLLOUT } from '../helpers/records.js';

export const SERVER = 'https://k8s.test:6443';

/** A kubeconfig of the user `user`, whose bearer token is `token` (the fake API records it as the sender). */
export function kubeConfig(user = 'alice', token = 't'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true }],
    users: [{ name: user, token }],
    contexts: [{ name: 'x', cluster: 'c', user }],
    currentContext: 'x',
  });
  return kc;
}

export function kubeClient(user?: string, token?: string): KubeClient {
  return new KubeClient(kubeConfig(user, token), { timeoutMs: 5_000 });
}

/** A valid spec with the `file` router writing to `path`. */
export function fileSpec(path: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    revision: '1.0.0',
    prometheus: { address: 'http://127.0.0.1:9' },
    traffic: { router: 'file', file: { path } },
    metrics: [{ name: 'error-rate', query: 'sum(rate(errors[{{window}}]))', max: 0.01, critical: true }],
    phases: [
      { name: 'canary', weight: 10, checkpoints: ['1h'] },
      { name: 'full', weight: 100, checkpoints: ['1h'] },
    ],
    ...over,
  };
}

export function rolloutPlan(name: string, spec: unknown, over: Partial<RolloutPlanObject['metadata']> = {}, namespace = 'learning'): RolloutPlanObject {
  return {
    apiVersion: 'rollgate.dev/v1alpha1',
    kind: 'RolloutPlan',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '100', generation: 1, creationTimestamp: '2025-11-03T10:00:00Z', ...over },
    spec,
  };
}

export { ROLLOUT };

/**
 * The status the controller writes (src/cluster/status.ts buildStatus) for a rollout of
 * revision 1.0.0 progressing at 10% after checkpoint 1/2 of canary, whose last records are
 * `records` (a start, then that checkpoint's continue); `nextAt` when the next checkpoint is due.
 */
export function progressingStatus(records: DecisionRecord[], nextAt: string | null): RolloutPlanStatus {
  const last = records.at(-1)!;
  return {
    observedGeneration: 1,
    revision: '1.0.0',
    planHash: 'sha256:abc',
    status: 'progressing',
    phase: 'canary',
    weight: 10,
    mirror: 0,
    checkpoint: '1/2',
    lastDecision: 'continue',
    lastDecisionAt: last.at,
    nextAt,
    seq: last.seq,
    records,
    counts: { start: 1, continue: 1 },
  };
}

/** A record of the journal fixtures, dated on the kube tests' day with their revision. */
export function record(seq: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return fixture(seq, { revision: '1.0.0', at: new Date(Date.UTC(2025, 10, 3, 10, 0, seq)).toISOString(), ...over });
}

export function mark(applied: number, weight = 10): AppliedMark {
  return { applied, rollout: ROLLOUT, weight, mirror: 0, at: '2025-11-03T10:00:01Z' };
}

/** A Kubernetes `Status` error body. */
export function statusError(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

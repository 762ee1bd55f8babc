/**
 * The RolloutPlan's status: where the rollout stands (phase, split, checkpoint, last
 * decision, next action), the guard's strikes, its last 10 decision records, the count of each
 * decision, and the answer to the last manual request. Written by the replica holding the plan's shard with a merge patch on the /status
 * subresource after each decision, carrying the resourceVersion last seen as a precondition:
 * 409 Conflict re-reads the object and tries again. Writes for one rollout are serialized and
 * coalesced (the newest status wins); a status is rebuilt from the engine's state when sent.
 */
import { KubeApiError, PATCH, type KubeClient } from '../kube/client.js';
import type { Logger } from '../support/log.js';
import type { DecisionRecord } from '../core/record.js';
import type { RolloutState } from '../core/state.js';
import { checkpointSpecs } from '../plan/checkpoints.js';
import { guardSize } from '../engine/judge.js';
import type { Plan } from '../plan/schema.js';
import { rolloutPlanPath, rolloutPlanStatusPath, type LastRequest, type RolloutPlanObject, type RolloutPlanStatus } from './rolloutplans.js';

export const STATUS_RECORDS = 10;

export interface StatusInput {
  generation: number | undefined;
  plan: Plan;
  planHash: string;
  state: RolloutState;
  records: DecisionRecord[];
  counts: Record<string, number>;
  lastRequest?: LastRequest;
  /** The writing replica's identity and the Lease it holds for the plan's shard (`namespace/name`). */
  controller?: { identity: string; lease: string };
}

/** The status of a rollout from its state (a fold of the journal). */
export function buildStatus(i: StatusInput): RolloutPlanStatus {
  const s = i.state;
  const phase = i.plan.spec.phases[s.phaseIndex];
  const of = phase && phase.name === s.phaseName ? checkpointSpecs(phase).length : null;
  const status: RolloutPlanStatus = {
    ...(i.generation !== undefined ? { observedGeneration: i.generation } : {}),
    revision: s.seq > 0 ? s.revision : i.plan.spec.revision,
    planHash: i.planHash,
    status: s.status,
    phase: s.phaseName || null,
    weight: s.weight,
    mirror: s.mirror,
    checkpoint: of !== null && s.seq > 0 ? `${Math.min(s.checkpointIndex, of)}/${of}` : null,
    lastDecision: s.last?.decision ?? null,
    lastDecisionAt: s.last?.at ?? null,
    nextAt: s.last?.next?.at ?? null,
    seq: s.seq,
    records: i.records.slice(-STATUS_RECORDS),
    counts: i.counts,
    guard: guardOf(i.plan, s.guardStrikes),
  };
  if (i.lastRequest) status.lastRequest = { ...i.lastRequest, seq: i.lastRequest.seq ?? null };
  if (i.controller) status.controller = i.controller;
  return status;
}

function guardOf(plan: Plan, strikes: number): RolloutPlanStatus['guard'] {
  const size = guardSize(plan);
  return size ? { strikes, ...size } : null;
}

export interface StatusWriterOptions {
  client: KubeClient;
  log: Logger;
  /** Checked before every write of a RolloutPlan's status: false (this replica no longer holds its shard) skips it. */
  allowed?: (namespace: string, name: string) => boolean;
  /** Conflicts retried per write. Default 5. */
  retries?: number;
}

interface Slot {
  resourceVersion?: string;
  running: Promise<void> | null;
  /** The newest status waiting to be sent. */
  pending: (() => RolloutPlanStatus) | null;
}

export class StatusWriter {
  private readonly slots = new Map<string, Slot>();
  /** Status patches sent and conflicts met (tests and debugging). */
  patches = 0;
  conflicts = 0;

  constructor(private readonly opts: StatusWriterOptions) {}

  /** The resourceVersion the next patch assumes (from the informer or the last patch). */
  observe(obj: RolloutPlanObject): void {
    this.slot(key(obj.metadata.namespace ?? 'default', obj.metadata.name)).resourceVersion = obj.metadata.resourceVersion;
  }

  forget(namespace: string, name: string): void {
    this.slots.delete(key(namespace, name));
  }

  /**
   * Sends the status `build()` returns (called when the write starts, so it is the newest);
   * resolves when it is written or given up. Failures are logged, not thrown.
   */
  write(namespace: string, name: string, build: () => RolloutPlanStatus): Promise<void> {
    const slot = this.slot(key(namespace, name));
    const already = slot.pending !== null;
    slot.pending = build;
    if (already && slot.running) return slot.running;
    const prev = slot.running ?? Promise.resolve();
    const run: Promise<void> = prev.then(async () => {
      const next = slot.pending;
      slot.pending = null;
      if (next) await this.send(namespace, name, slot, next());
    });
    slot.running = run;
    void run.finally(() => {
      if (slot.running === run) slot.running = null;
    });
    return run;
  }

  /** Waits for the writes under way. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.slots.values()].map((s) => s.running));
  }

  private slot(k: string): Slot {
    let s = this.slots.get(k);
    if (!s) this.slots.set(k, (s = { running: null, pending: null }));
    return s;
  }

  private async send(namespace: string, name: string, slot: Slot, status: RolloutPlanStatus): Promise<void> {
    const { client, log } = this.opts;
    const retries = this.opts.retries ?? 5;
    const rollout = `${namespace}/${name}`;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.opts.allowed && !this.opts.allowed(namespace, name)) {
        log.debug({ rollout }, 'status not written: this replica no longer holds its shard');
        return;
      }
      const body = { metadata: slot.resourceVersion ? { resourceVersion: slot.resourceVersion } : {}, status };
      try {
        const res = await client.patch<RolloutPlanObject>(rolloutPlanStatusPath(namespace, name), body, PATCH.merge);
        this.patches++;
        slot.resourceVersion = res?.metadata?.resourceVersion ?? slot.resourceVersion;
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.conflict) {
          this.conflicts++;
          try {
            const fresh = await client.get<RolloutPlanObject>(rolloutPlanPath(namespace, name));
            slot.resourceVersion = fresh.metadata.resourceVersion;
            continue;
          } catch (readErr) {
            err = readErr;
          }
        }
        if (err instanceof KubeApiError && err.notFound) {
          log.debug({ rollout }, 'rolloutplan gone; status not written');
          return;
        }
        log.warn({ rollout, err: (err as Error).message }, 'cannot write status (it is written again with the next decision)');
        return;
      }
    }
    log.warn({ rollout }, `status still conflicting after ${retries + 1} attempts`);
  }
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

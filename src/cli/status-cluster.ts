/**
 * Cluster mode of `rollgate status`: the RolloutPlans (their `.status`), whether a live leader
 * writes that status, and why a spec edit was not applied. Read-only (GETs).
 *
 * Live leader: the status names the Lease its writer held (`status.controller.lease`); that
 * Lease is read once per `status` run. No holder, or a renewTime older than its
 * leaseDurationSeconds, is no live leader: nothing acts on the plans of that shard and the
 * status is as old as its last write. A status without `controller` (written by an older
 * controller) gives `unknown`.
 *
 * A spec edit not applied: `metadata.generation` newer than `status.observedGeneration`. The
 * controller then records an `InvalidPlan` Event on the plan; its latest message says why.
 */
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { eventsPath, leasePath, type KubeList } from '../kube/objects.js';
import type { Lease } from '../kube/leader.js';
import type { RolloutPlanObject } from '../cluster/rolloutplans.js';
import { formatRelative, formatSpan } from '../support/human-time.js';
import { planStatusSummary, specNotApplied, type LeaderView, type OverdueClock, type StatusSummary } from './status-summary.js';

interface ClusterEvent {
  reason?: string;
  message?: string;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  involvedObject?: { name?: string; kind?: string };
}

/** Whether the Lease `lease` (`namespace/name`) has a live holder at `now`, as a LeaderView. */
export function leaderOfLease(leaseId: string, lease: Lease | null, writer: string, now: number): LeaderView {
  const base = { lease: leaseId, holder: lease?.spec.holderIdentity ?? null, renewTime: lease?.spec.renewTime ?? null };
  if (!lease) return { ...base, state: 'none', detail: `Lease ${leaseId} does not exist: no controller leads; this status is as its last writer (${writer}) left it` };
  const holder = lease.spec.holderIdentity;
  if (!holder) return { ...base, state: 'none', detail: `Lease ${leaseId} has no holder: no controller leads; this status is as ${writer} left it` };
  const renewed = lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
  const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
  if (!Number.isFinite(renewed) || renewed + duration < now) {
    const ago = Number.isFinite(renewed) ? `last renewed ${formatRelative(renewed, now)} (lease ${formatSpan(duration)})` : 'never renewed';
    return { ...base, state: 'none', detail: `no live leader: Lease ${leaseId} of ${holder} ${ago}; this status is as ${writer} left it` };
  }
  const who = holder === writer ? holder : `${holder} (the status was last written by ${writer})`;
  return { ...base, state: 'live', detail: `led by ${who}, Lease ${leaseId} renewed ${formatRelative(renewed, now)}` };
}

async function readLease(client: KubeClient, leaseId: string): Promise<Lease | null | Error> {
  const [namespace, name] = leaseId.split('/');
  if (!namespace || !name) return new Error(`status.controller.lease "${leaseId}" is not namespace/name`);
  try {
    return await client.get<Lease>(leasePath(namespace, name));
  } catch (err) {
    if (err instanceof KubeApiError && err.notFound) return null;
    return err as Error;
  }
}

/** The latest InvalidPlan Event of a plan: why its spec edit was not applied; null when none can be read. */
async function rejectionOf(client: KubeClient, plan: RolloutPlanObject): Promise<{ message: string; at: string | null } | null> {
  const namespace = plan.metadata.namespace ?? 'default';
  const name = plan.metadata.name;
  try {
    const list = await client.get<KubeList<ClusterEvent>>(eventsPath(namespace), {
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=RolloutPlan,reason=InvalidPlan`,
      limit: 100,
    });
    const events = (list.items ?? []).filter((e) => e.reason === 'InvalidPlan' && e.involvedObject?.name === name && e.involvedObject?.kind === 'RolloutPlan');
    const time = (e: ClusterEvent) => e.lastTimestamp ?? e.eventTime ?? '';
    const latest = events.sort((a, b) => time(a).localeCompare(time(b))).at(-1);
    return latest?.message ? { message: latest.message, at: time(latest) || null } : null;
  } catch {
    return null; // the generation check still says the edit is not applied
  }
}

/** The summaries of `plans`, each with its leader (one read per Lease) and, for a spec not applied, why. */
export async function clusterSummaries(client: KubeClient, plans: RolloutPlanObject[], clock: OverdueClock): Promise<StatusSummary[]> {
  const leases = new Map<string, Promise<Lease | null | Error>>();
  return Promise.all(
    plans.map(async (plan) => {
      const writer = plan.status?.controller;
      let leader: LeaderView | undefined;
      if (!plan.status || typeof plan.status.status !== 'string') leader = undefined;
      else if (!writer) leader = { state: 'unknown', lease: null, holder: null, renewTime: null, detail: 'unknown: the status does not name the Lease of its writer (an older controller wrote it)' };
      else {
        let pending = leases.get(writer.lease);
        if (!pending) leases.set(writer.lease, (pending = readLease(client, writer.lease)));
        const lease = await pending;
        leader =
          lease instanceof Error
            ? { state: 'unknown', lease: writer.lease, holder: null, renewTime: null, detail: `cannot read Lease ${writer.lease}: ${lease.message}` }
            : leaderOfLease(writer.lease, lease, writer.identity, clock.now);
      }
      const rejection = specNotApplied(plan) ? await rejectionOf(client, plan) : null;
      return planStatusSummary(plan, clock, { ...(leader ? { leader } : {}), rejection });
    }),
  ).then((all) => all.sort((a, b) => a.rollout.localeCompare(b.rollout)));
}

/**
 * Every decision as a Kubernetes Event (core/v1) on its RolloutPlan, so `kubectl describe
 * rolloutplan` and `kubectl get events` tell the rollout's story with the values and the
 * thresholds. Events are a view: the journal is the truth, so a failed Event is logged and
 * dropped, never retried into the rollout's way.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../support/log.js';
import type { Decision, DecisionRecord } from '../core/record.js';
import { formatDecisionLine } from '../observe/decision-text.js';
import { COMPONENT, RESOURCE_API_VERSION, RESOURCE_KIND, type RolloutPlanObject } from './rolloutplans.js';
import { eventsPath } from '../kube/objects.js';

export const EVENT_REASONS: Record<Decision, string> = {
  start: 'Started',
  continue: 'CheckpointPassed',
  advance: 'Advanced',
  complete: 'Completed',
  hold: 'Held',
  pause: 'Paused',
  resume: 'Resumed',
  rollback: 'RolledBack',
  abort: 'Aborted',
  promote: 'Promoted',
  wait: 'Waiting',
  'plan-updated': 'PlanUpdated',
};

const WARNING: ReadonlySet<Decision> = new Set<Decision>(['rollback', 'abort', 'pause']);

/** Event messages are meant to be short; the full record is in the journal (by seq). */
const MAX_MESSAGE = 1024;

export interface KubeEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  action?: string;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

export interface EventRecorderOptions {
  client: KubeClient;
  log: Logger;
  /** This replica (pod name): `reportingInstance`. */
  instance: string;
  now?: () => number;
}

export class EventRecorder {
  /** Events posted (tests and debugging). */
  posted = 0;
  constructor(private readonly opts: EventRecorderOptions) {}

  /** The Event of one decision. */
  decisionEvent(obj: RolloutPlanObject, r: DecisionRecord): KubeEvent {
    const reason = EVENT_REASONS[r.decision];
    return this.build(obj, reason, WARNING.has(r.decision) ? 'Warning' : 'Normal', `#${r.seq} ${formatDecisionLine(r)}`, r.decision);
  }

  build(obj: RolloutPlanObject, reason: string, type: 'Normal' | 'Warning', message: string, action?: string): KubeEvent {
    const at = new Date((this.opts.now ?? Date.now)()).toISOString();
    const namespace = obj.metadata.namespace ?? 'default';
    const name = obj.metadata.name;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      // The usual `<object>.<unique hex>` naming, so Events of one object sort together.
      metadata: { name: `${name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: RESOURCE_API_VERSION,
        kind: RESOURCE_KIND,
        name,
        namespace,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
      },
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
      type,
      ...(action ? { action } : {}),
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.opts.instance,
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    };
  }

  /** Posts an Event; failures are logged, never thrown. */
  async emit(event: KubeEvent): Promise<void> {
    try {
      await this.opts.client.post(eventsPath(event.metadata.namespace), event);
      this.posted++;
    } catch (err) {
      this.opts.log.warn(
        { rollout: `${event.involvedObject.namespace}/${event.involvedObject.name}`, reason: event.reason, err: (err as Error).message },
        `cannot record Event ${event.reason} on rolloutplan ${event.involvedObject.namespace}/${event.involvedObject.name}`,
      );
    }
  }
}

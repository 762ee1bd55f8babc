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
import { formatDecisionLine, formatMetric } from '../observe/decision-text.js';
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

/**
 * Event messages are meant to be short (events.k8s.io caps a note at 1 kB), so a message is
 * cut to this many UTF-8 bytes; the full record is in the journal (by seq).
 */
export const MAX_MESSAGE_BYTES = 1024;

/**
 * The message of a decision's Event: its log line (`#17 checkpoint 2/6 of ramp: rollback
 * (...) metrics; weight 10→0`). When that is too long, the metrics that did not pass (with
 * their judge's numbers) come first and the passing ones are only counted, so the cut never
 * takes the numbers that explain a rollback, hold or pause.
 */
export function decisionMessage(r: DecisionRecord): string {
  const full = `#${r.seq} ${formatDecisionLine(r)}`;
  const metrics = r.metrics ?? [];
  const passing = metrics.filter((m) => m.verdict === 'pass');
  if (utf8Bytes(full) <= MAX_MESSAGE_BYTES || passing.length === 0) return cut(full);
  const culprits = metrics.filter((m) => m.verdict !== 'pass').map(formatMetric);
  const counted = `${passing.length} passing (see the journal, #${r.seq})`;
  return cut(`#${r.seq} ${formatDecisionLine(r, [...culprits, counted].join(', '))}`);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** `text`, or its longest prefix that fits MAX_MESSAGE_BYTES with `…`, never splitting a character. */
function cut(text: string): string {
  if (utf8Bytes(text) <= MAX_MESSAGE_BYTES) return text;
  const room = MAX_MESSAGE_BYTES - utf8Bytes('…');
  let end = 0;
  let bytes = 0;
  for (const ch of text) {
    const size = utf8Bytes(ch);
    if (bytes + size > room) break;
    bytes += size;
    end += ch.length;
  }
  return `${text.slice(0, end)}…`;
}

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
    return this.build(obj, reason, WARNING.has(r.decision) ? 'Warning' : 'Normal', decisionMessage(r), r.decision);
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
      message: cut(message),
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
        `cannot record Event ${event.reason} on its rolloutplan`,
      );
    }
  }
}

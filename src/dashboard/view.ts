/**
 * What the dashboard shows, as data: the JSON of its API (`/api/rollouts` pages,
 * `/api/rollouts/NAME`, the server-sent events of `/api/events`) and the data a
 * `rollgate report` page embeds. The page's script (dashboard/app.js) renders only from
 * these shapes, live or from a report, so both show the same thing.
 *
 * Times are ISO-8601 UTC strings, as in the decision records; the page shows them relative
 * ("4m10s ago") and in the plan's time zone where the plan has one.
 */
import type { DecisionRecord, MetricResult } from '../core/record.js';
import type { RolloutStatus, WaitReason } from '../core/state.js';

/** At a glance: how a rollout is doing. */
export type Health =
  /** Progressing or waiting, its last judgement passed (or nothing judged yet). */
  | 'healthy'
  /** Held, inconclusive, guard strikes below the limit, nodata, or an overdue action. */
  | 'warning'
  /** Rolling back, or rolled back. */
  | 'failing'
  /** Paused by a person or by the engine. */
  | 'paused'
  /** Complete. */
  | 'complete';

/** One row of the overview (and the `summary` event). */
export interface RolloutSummary {
  rollout: string;
  revision: string;
  status: RolloutStatus;
  health: Health;
  /** The phase the rollout is in or waits to begin, its index and the plan's phase count. */
  phase: string;
  phaseIndex: number;
  phases: number;
  /** The decided split (canary weight and mirror, percent). */
  weight: number;
  mirror: number;
  /** The split a router last confirmed, if any. */
  applied: { weight: number; mirror: number; at: string } | null;
  waitingFor: WaitReason | null;
  /** The guard's consecutive failing evaluations and the plan's limit (null: no guard). */
  guard: { strikes: number; consecutive: number } | null;
  /** The last decision record, shortened. */
  last: { seq: number; decision: DecisionRecord['decision']; kind: DecisionRecord['kind']; at: string; reason: string; actor: string } | null;
  /** What the controller does next on its own, and when. */
  next: { what: string; at: string } | null;
  /** The plan's time zone (IANA name) when it has one (windows, startAt), else null. */
  timeZone: string | null;
}

/**
 * A page of `GET /api/rollouts[?limit=N&continue=TOKEN&q=TEXT]` (rollout-list.ts): the
 * rollouts of the page, sorted by id; how many rollouts match the filter (all of them without
 * `q`); and the token of the next page (null on the last).
 */
export interface RolloutList {
  rollouts: RolloutSummary[];
  total: number;
  continue: string | null;
}

/** One guard evaluation as the live controller saw it (guard passes are not journalled). */
export interface GuardPoint {
  at: string;
  result: 'pass' | 'fail' | 'nodata';
  strikes: number;
  metrics: MetricResult[];
}

/** A planned phase, for the timeline (the split it holds and how long it is judged). */
export interface PhasePlan {
  name: string;
  weight: number;
  mirror: number;
  /** The phase's checkpoint count and its last checkpoint's offset from the phase start. */
  checkpoints: number;
  durationSeconds: number | null;
}

/** A metric's values over time from Prometheus range queries (reports, when reachable). */
export interface MetricRange {
  metric: string;
  /** The query as sent (rendered), for the legend. */
  query: string;
  step: number;
  /** [unix seconds, value]; null where Prometheus had no sample. */
  points: [number, number | null][];
}

/** Everything the rollout page shows. */
export interface RolloutPage {
  summary: RolloutSummary;
  phases: PhasePlan[];
  /** The decision records, oldest first; at most a bounded number of the latest ones. */
  records: DecisionRecord[];
  /** How many older records were left out of `records` (0: none). */
  recordsOmitted: number;
  /** Recent guard evaluations, oldest first (live: a bounded ring; a report: none). */
  guard: GuardPoint[];
  /** Prometheus range data per metric (a report, when Prometheus was reachable; live: []). */
  ranges: MetricRange[];
  /** Why `ranges` is empty in a report (Prometheus unreachable, no address...), else null. */
  rangesNote: string | null;
  generatedAt: string;
  source: 'live' | 'report';
}

/** The server-sent events of `/api/events` (`event:` name, `data:` JSON). */
export type DashboardEvent =
  | { event: 'summary'; data: RolloutSummary }
  | { event: 'record'; data: { rollout: string; record: DecisionRecord } }
  | { event: 'guard'; data: { rollout: string; point: GuardPoint } }
  | { event: 'removed'; data: { rollout: string } };

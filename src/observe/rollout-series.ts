/**
 * The per-rollout series of `/metrics`: gauges of where each rollout stands and counters of
 * its decisions, verdicts, guard ticks and query problems. They are held as one compact record
 * per rollout (label text formatted when a value is set, not at each scrape) rather than one
 * prom-client child per series, and rendered in slices that yield to the event loop, into
 * Buffers outside the JS heap: at 10,000 rollouts the text has about 150,000 lines (13 MB),
 * which one synchronous render would block the loop for the whole time, and which, as strings,
 * the garbage collector would copy around while they are built. Every family has a bounded
 * number of series per rollout (docs/operations.md lists them); none is a histogram.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Where a rollout stands: the values of its gauges. */
export interface RolloutPosition {
  revision: string;
  phase: string;
  status: string;
  phaseIndex: number;
  weight: number;
  mirror: number;
}

/** The families (name after `rollgate_`), in rendering order: type and help. */
const FAMILIES = {
  rollout_info: ['gauge', 'Current revision, phase and status of a rollout (always 1)'],
  rollout_phase_index: ['gauge', 'Index (0-based) of the current phase in the plan'],
  rollout_canary_weight: ['gauge', "Canary's decided share of live traffic, percent"],
  rollout_mirror_weight: ['gauge', "Canary's decided share of mirrored traffic, percent"],
  rollout_status: ['gauge', 'The current status of a rollout (always 1; one series per rollout)'],
  decisions_total: ['counter', 'Decisions recorded'],
  metric_value: ['gauge', 'Last value of a gate metric (absent while it has no data)'],
  metric_e_value: [
    'gauge',
    "The sequential test's e-value of a counts metric in the current phase, from the last checkpoint or guard evaluation (evidence of a regression; absent while it has no data)",
  ],
  metric_e_value_threshold: ['gauge', 'The e-value at which the sequential test proves a regression and rolls back: 1/alpha of the metric'],
  metric_verdicts_total: ['counter', 'Verdicts of gate metrics'],
  next_checkpoint_timestamp_seconds: ['gauge', 'When the controller next acts on its own for a rollout (Unix seconds)'],
  metric_query_errors_total: [
    'counter',
    'Gate metric queries that need a person, by kind (bad-query: Prometheus refused the query, HTTP 400/422: a plan problem)',
  ],
  guard_evaluations_total: ['counter', 'Guard evaluations by result'],
} as const;

type FamilyName = keyof typeof FAMILIES;
const FAMILY_NAMES = Object.keys(FAMILIES) as FamilyName[];

/** Where a render writes each family's sample lines. */
type Out = Record<FamilyName, TextChunks>;

/** Labels after `rollout` → value; the key is the formatted label text (`kind="...",decision="..."`). */
type Series = Map<string, number>;

interface Rollout {
  /** `rollout="ns/name"`, escaped. */
  readonly label: string;
  /** The position's labels and values; null until the first decision or restore. */
  info: string | null;
  status: string;
  phaseIndex: number;
  weight: number;
  mirror: number;
  /** Unix seconds; null when nothing is planned. */
  next: number | null;
  values: Series | null;
  /** Sequential metrics only: metric label → [e-value, threshold]. */
  evidence: Map<string, [number, number]> | null;
  decisions: Series | null;
  verdicts: Series | null;
  queryErrors: Series | null;
  guards: Series | null;
}

/** Longest stretch a render keeps the event loop before it yields (setImmediate). */
const SLICE_MS = 5;
/** Rollouts rendered between two looks at the clock (a few µs each). */
const CHECK_EVERY = 32;
/** Size of the Buffers a render writes into. */
const CHUNK_BYTES = 64 * 1024;

export class RolloutSeries {
  private readonly rollouts = new Map<string, Rollout>();

  position(rollout: string, p: RolloutPosition): void {
    const r = this.get(rollout);
    r.info = `${r.label},revision="${escape(p.revision)}",phase="${escape(p.phase)}",status="${escape(p.status)}"`;
    r.status = `${r.label},status="${escape(p.status)}"`;
    r.phaseIndex = p.phaseIndex;
    r.weight = p.weight;
    r.mirror = p.mirror;
  }

  /** When the controller next acts for the rollout (Unix seconds), or null for nothing planned. */
  next(rollout: string, atSeconds: number | null): void {
    if (atSeconds === null && !this.rollouts.has(rollout)) return;
    this.get(rollout).next = atSeconds;
  }

  /** A gate metric's last value; null removes the series (no data). */
  value(rollout: string, metric: string, value: number | null): void {
    if (value === null) this.rollouts.get(rollout)?.values?.delete(escape(metric));
    else (this.get(rollout).values ??= new Map()).set(escape(metric), value);
  }

  /** A sequential metric's last e-value and its threshold (1/alpha); null removes both series (no data). */
  evidence(rollout: string, metric: string, evidence: { e: number; threshold: number } | null): void {
    if (evidence === null) this.rollouts.get(rollout)?.evidence?.delete(escape(metric));
    else (this.get(rollout).evidence ??= new Map()).set(escape(metric), [evidence.e, evidence.threshold]);
  }

  decision(rollout: string, kind: string, decision: string): void {
    const r = this.get(rollout);
    inc((r.decisions ??= new Map()), `kind="${escape(kind)}",decision="${escape(decision)}"`);
  }

  verdict(rollout: string, metric: string, verdict: string): void {
    const r = this.get(rollout);
    inc((r.verdicts ??= new Map()), `metric="${escape(metric)}",verdict="${escape(verdict)}"`);
  }

  queryError(rollout: string, metric: string, kind: string): void {
    const r = this.get(rollout);
    inc((r.queryErrors ??= new Map()), `metric="${escape(metric)}",kind="${escape(kind)}"`);
  }

  guard(rollout: string, result: string): void {
    const r = this.get(rollout);
    inc((r.guards ??= new Map()), `result="${escape(result)}"`);
  }

  /** Drops every series of a rollout. */
  remove(rollout: string): void {
    this.rollouts.delete(rollout);
  }

  /**
   * The exposition text of every family (HELP and TYPE even when empty) in chunks of at most
   * CHUNK_BYTES, built rollout by rollout and yielding to the event loop whenever a slice has
   * run SLICE_MS. A rollout added, changed or removed while a render waits is seen as it is when
   * its turn comes; each rollout's lines come from one slice.
   */
  async render(): Promise<Buffer[]> {
    const out = Object.fromEntries(FAMILY_NAMES.map((name) => [name, new TextChunks()])) as Out;
    let sliceStart = performance.now();
    let n = 0;
    for (const r of this.rollouts.values()) {
      renderRollout(r, out);
      if (++n % CHECK_EVERY === 0 && performance.now() - sliceStart >= SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
    return FAMILY_NAMES.flatMap((name, i) => {
      const [type, help] = FAMILIES[name];
      return [Buffer.from(`${i ? '\n' : ''}# HELP rollgate_${name} ${help}\n# TYPE rollgate_${name} ${type}\n`), ...out[name].end()];
    });
  }

  private get(rollout: string): Rollout {
    let r = this.rollouts.get(rollout);
    if (!r) {
      r = {
        label: `rollout="${escape(rollout)}"`,
        info: null,
        status: '',
        phaseIndex: 0,
        weight: 0,
        mirror: 0,
        next: null,
        values: null,
        evidence: null,
        decisions: null,
        verdicts: null,
        queryErrors: null,
        guards: null,
      };
      this.rollouts.set(rollout, r);
    }
    return r;
  }
}

function renderRollout(r: Rollout, out: Out): void {
  const label = r.label;
  if (r.info !== null) {
    out.rollout_info.write(`rollgate_rollout_info{${r.info}} 1\n`);
    out.rollout_phase_index.write(`rollgate_rollout_phase_index{${label}} ${num(r.phaseIndex)}\n`);
    out.rollout_canary_weight.write(`rollgate_rollout_canary_weight{${label}} ${num(r.weight)}\n`);
    out.rollout_mirror_weight.write(`rollgate_rollout_mirror_weight{${label}} ${num(r.mirror)}\n`);
    out.rollout_status.write(`rollgate_rollout_status{${r.status}} 1\n`);
  }
  if (r.next !== null) out.next_checkpoint_timestamp_seconds.write(`rollgate_next_checkpoint_timestamp_seconds{${label}} ${num(r.next)}\n`);
  if (r.decisions) writeSeries(out.decisions_total, 'rollgate_decisions_total', label, r.decisions);
  if (r.values) {
    for (const [metric, v] of r.values) out.metric_value.write(`rollgate_metric_value{${label},metric="${metric}"} ${num(v)}\n`);
  }
  if (r.evidence) {
    for (const [metric, [e, threshold]] of r.evidence) {
      out.metric_e_value.write(`rollgate_metric_e_value{${label},metric="${metric}"} ${num(e)}\n`);
      out.metric_e_value_threshold.write(`rollgate_metric_e_value_threshold{${label},metric="${metric}"} ${num(threshold)}\n`);
    }
  }
  if (r.verdicts) writeSeries(out.metric_verdicts_total, 'rollgate_metric_verdicts_total', label, r.verdicts);
  if (r.queryErrors) writeSeries(out.metric_query_errors_total, 'rollgate_metric_query_errors_total', label, r.queryErrors);
  if (r.guards) writeSeries(out.guard_evaluations_total, 'rollgate_guard_evaluations_total', label, r.guards);
}

function writeSeries(out: TextChunks, name: string, label: string, series: Series): void {
  for (const [labels, v] of series) out.write(`${name}{${label},${labels}} ${num(v)}\n`);
}

/** Text written as UTF-8 into Buffers of CHUNK_BYTES, each line whole in one of them. */
class TextChunks {
  private readonly full: Buffer[] = [];
  private chunk: Buffer | null = null;
  private at = 0;

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = text.length * 3;
    if (!this.chunk || this.chunk.length - this.at < most) {
      if (this.chunk) this.full.push(this.chunk.subarray(0, this.at));
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, most));
      this.at = 0;
    }
    this.at += this.chunk.write(text, this.at);
  }

  /** Every chunk written, the last one included. */
  end(): Buffer[] {
    return this.chunk ? [...this.full, this.chunk.subarray(0, this.at)] : this.full;
  }
}

function inc(series: Series, labels: string): void {
  series.set(labels, (series.get(labels) ?? 0) + 1);
}

/** A sample value as the text format writes it. */
function num(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/** A label value escaped for the text format: backslash, double quote, newline. */
function escape(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

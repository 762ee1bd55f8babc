/**
 * Turns the `data` of a Prometheus query API answer into Samples, by the rule of
 * docs/plan-reference.md: a metric is a single number. A scalar or a one-sample vector gives its
 * value; an empty vector, NaN, +Inf, -Inf, several samples, a matrix or a string give `nodata`
 * with a reason.
 *
 * The answer is not trusted: proxies, Thanos, recording rules over broken exporters and
 * Prometheus-compatible stores answer shapes Prometheus never would. The whole `data` is
 * validated (zod) before anything is read from it, and a value is a number only when it is
 * spelled as Prometheus spells one (Go's `strconv.FormatFloat`: decimal or exponent form,
 * `NaN`, `+Inf`, `-Inf`). Anything else (`""`, `null`, `"0x10"`, `" 1"`, `"1e999"`, a point
 * that is not a `[time, "value"]` pair, `result: null`) is `nodata` whose reason quotes the raw
 * text, shortened; never an exception, never a number.
 */
import { z } from 'zod';
import type { Sample } from '../core/metrics-provider.js';

/** `[ <unix seconds>, "<value>" ]` as Prometheus encodes one point (the value is checked later). */
const pointSchema = z.tuple([z.number().finite(), z.unknown()]);

const seriesSchema = z.object({
  metric: z.record(z.string(), z.string()).optional(),
  value: pointSchema.optional(),
  values: z.array(pointSchema).optional(),
  histogram: z.unknown().optional(),
  histograms: z.unknown().optional(),
});

const RESULT_TYPES = ['scalar', 'string', 'vector', 'matrix'] as const;

const dataSchema = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('scalar'), result: pointSchema }),
  z.object({ resultType: z.literal('string'), result: pointSchema }),
  z.object({ resultType: z.literal('vector'), result: z.array(seriesSchema) }),
  z.object({ resultType: z.literal('matrix'), result: z.array(seriesSchema) }),
]);

export type PromData = z.infer<typeof dataSchema>;

/** A Sample plus the fact that several samples came back (which the caller logs as an error). */
export interface Judged {
  sample: Sample;
  several?: number;
}

/**
 * A float as Prometheus writes it: an optional minus, digits with an optional fraction (or a
 * fraction alone), an optional exponent. Go's ParseFloat accepts more (hex, underscores,
 * "Infinity", a leading "+"), none of which Prometheus ever writes.
 */
const PROM_FLOAT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Longest raw text quoted in a reason. */
const MAX_QUOTED = 40;

/** Raw text for a reason: JSON-quoted, shortened. */
export function quoteRaw(raw: unknown): string {
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  const short = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text;
  return typeof raw === 'string' ? JSON.stringify(short) : short;
}

/** One point's value (`"0.5"`, `"NaN"`, `"+Inf"`, or anything a broken upstream sends) to a Sample. */
export function valueSample(raw: unknown): Sample {
  if (typeof raw !== 'string') {
    return { value: null, reason: `value ${quoteRaw(raw)} is not a number as Prometheus writes it (a string such as "0.5")` };
  }
  if (raw === 'NaN') return { value: null, reason: 'NaN' };
  if (raw === '+Inf') return { value: null, reason: '+Inf' };
  if (raw === '-Inf') return { value: null, reason: '-Inf' };
  const value = PROM_FLOAT.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value)) {
    // Not Prometheus' spelling ("", " 1", "0x10", "Inf"), or a spelling out of float64's range ("1e999").
    return { value: null, reason: `value ${quoteRaw(raw)} is not a number as Prometheus writes it` };
  }
  return { value };
}

export function severalSamples(n: number): Judged {
  return { sample: { value: null, reason: `${n} samples, expected one` }, several: n };
}

/** The first problem of a malformed `data`, as a short reason naming the field. */
function malformed(kind: 'instant' | 'range', data: unknown, error: z.ZodError): string {
  const resultType = typeof data === 'object' && data !== null ? (data as { resultType?: unknown }).resultType : undefined;
  if (typeof data === 'object' && data !== null && !RESULT_TYPES.includes(resultType as (typeof RESULT_TYPES)[number])) {
    return `malformed ${kind} answer: unknown result type ${quoteRaw(resultType ?? null)}`;
  }
  const issue = error.issues[0];
  const path = ['data', ...(issue?.path ?? [])].map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').slice(1);
  const at = (issue?.path ?? []).reduce<unknown>((v, p) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined), data);
  return `malformed ${kind} answer: ${path}: ${issue?.message ?? 'invalid'} (got ${quoteRaw(at ?? null)})`;
}

/** Validates the `data` of an answer; a Sample reason when it is malformed. */
function parseData(kind: 'instant' | 'range', data: unknown): { data: PromData } | { reason: string } {
  const parsed = dataSchema.safeParse(data);
  return parsed.success ? { data: parsed.data } : { reason: malformed(kind, data, parsed.error) };
}

/** Judges the `data` of an instant query (any JSON value; malformed shapes are nodata). */
export function judgeInstant(raw: unknown): Judged {
  const parsed = parseData('instant', raw);
  if ('reason' in parsed) return { sample: { value: null, reason: parsed.reason } };
  const data = parsed.data;
  switch (data.resultType) {
    case 'scalar':
      return { sample: valueSample(data.result[1]) };
    case 'vector': {
      const n = data.result.length;
      if (n === 0) return { sample: { value: null, reason: 'empty result' } };
      if (n > 1) return severalSamples(n);
      const only = data.result[0]!;
      if (only.value) return { sample: valueSample(only.value[1]) };
      if (only.histogram !== undefined) return { sample: { value: null, reason: 'a native histogram, expected a number' } };
      return { sample: { value: null, reason: 'malformed instant answer: data.result[0] has no value' } };
    }
    case 'matrix':
      return { sample: { value: null, reason: 'a range vector (matrix), expected a number: drop the [range] or aggregate it' } };
    case 'string':
      return { sample: { value: null, reason: 'a string, expected a number' } };
  }
}

/** Epoch milliseconds of a Prometheus timestamp (float seconds), exact to the millisecond. */
export function pointMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/**
 * Judges the `data` of a range query into one Sample per step in `steps` (epoch ms). At each
 * step the series that have a point there are the instant query's vector at that time, so the
 * same rules apply: none → empty, one → its value, several → nodata. Returns also the steps
 * that had several samples (for the error log). A malformed answer is nodata at every step.
 */
export function judgeRange(raw: unknown, steps: number[]): { samples: Map<number, Sample>; several: number } {
  const samples = new Map<number, Sample>();
  const parsed = parseData('range', raw);
  const everyStep = (reason: string) => {
    for (const t of steps) samples.set(t, { value: null, reason });
    return { samples, several: 0 };
  };
  if ('reason' in parsed) return everyStep(parsed.reason);
  const data = parsed.data;
  // A range query only ever answers a matrix; anything else is a broken upstream.
  if (data.resultType !== 'matrix') return everyStep(`unexpected result type ${data.resultType} for a range query`);
  const byStep = new Map<number, unknown[]>();
  for (const series of data.result) {
    for (const [ts, value] of series.values ?? []) {
      const t = pointMs(ts);
      const list = byStep.get(t);
      if (list) list.push(value);
      else byStep.set(t, [value]);
    }
  }
  let severalSteps = 0;
  for (const t of steps) {
    const values = byStep.get(t);
    if (!values || values.length === 0) samples.set(t, { value: null, reason: 'empty result' });
    else if (values.length > 1) {
      severalSteps++;
      samples.set(t, severalSamples(values.length).sample);
    } else samples.set(t, valueSample(values[0]));
  }
  return { samples, several: severalSteps };
}

/** Whether `body` looks like a Prometheus API envelope. */
export function isApiEnvelope(body: unknown): body is { status: string; data?: unknown; error?: string; errorType?: string; warnings?: unknown[]; infos?: unknown[] } {
  return typeof body === 'object' && body !== null && typeof (body as { status?: unknown }).status === 'string';
}

/**
 * Turns the `data` of a Prometheus query API answer into Samples, by the plan-format rule: a
 * metric is a single number. A scalar or a one-sample vector gives its value; an empty vector,
 * NaN, +Inf, -Inf, several samples, a matrix or a string give `nodata` with a reason.
 */
import type { Sample } from './provider.js';

/** `[ <unix seconds>, "<value>" ]` as Prometheus encodes one point. */
export type PromPoint = [number, string];

export interface PromSeries {
  metric?: Record<string, string>;
  value?: PromPoint;
  values?: PromPoint[];
  histogram?: unknown;
  histograms?: unknown;
}

export type PromData =
  | { resultType: 'scalar'; result: PromPoint }
  | { resultType: 'string'; result: PromPoint }
  | { resultType: 'vector'; result: PromSeries[] }
  | { resultType: 'matrix'; result: PromSeries[] };

/** A Sample plus the fact that several samples came back (which the caller logs as an error). */
export interface Judged {
  sample: Sample;
  several?: number;
}

/** One value string ("0.5", "NaN", "+Inf") to a Sample. */
export function valueSample(text: string): Sample {
  // Prometheus (Go) spells infinities "+Inf" / "-Inf", which JavaScript's Number() rejects.
  const value = text === '+Inf' || text === 'Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  if (Number.isNaN(value)) return { value: null, reason: 'NaN' };
  if (value === Infinity) return { value: null, reason: '+Inf' };
  if (value === -Infinity) return { value: null, reason: '-Inf' };
  return { value };
}

export function severalSamples(n: number): Judged {
  return { sample: { value: null, reason: `${n} samples, expected one` }, several: n };
}

/** Judges the `data` of an instant query. */
export function judgeInstant(data: PromData): Judged {
  switch (data.resultType) {
    case 'scalar':
      return { sample: valueSample(data.result[1]) };
    case 'vector': {
      const n = data.result.length;
      if (n === 0) return { sample: { value: null, reason: 'empty result' } };
      if (n > 1) return severalSamples(n);
      const only = data.result[0]!;
      if (!only.value) return { sample: { value: null, reason: 'a native histogram, expected a number' } };
      return { sample: valueSample(only.value[1]) };
    }
    case 'matrix':
      return { sample: { value: null, reason: 'a range vector (matrix), expected a number: drop the [range] or aggregate it' } };
    case 'string':
      return { sample: { value: null, reason: 'a string, expected a number' } };
    default:
      return { sample: { value: null, reason: `unknown result type ${String((data as { resultType: unknown }).resultType)}` } };
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
 * that had several samples (for the error log).
 */
export function judgeRange(data: PromData, steps: number[]): { samples: Map<number, Sample>; several: number } {
  const samples = new Map<number, Sample>();
  let severalSteps = 0;
  if (data.resultType !== 'matrix') {
    // A range query only ever answers a matrix; anything else is a broken upstream.
    const reason = `unexpected result type ${data.resultType} for a range query`;
    for (const t of steps) samples.set(t, { value: null, reason });
    return { samples, several: 0 };
  }
  const byStep = new Map<number, string[]>();
  for (const series of data.result) {
    for (const [ts, text] of series.values ?? []) {
      const t = pointMs(ts);
      const list = byStep.get(t);
      if (list) list.push(text);
      else byStep.set(t, [text]);
    }
  }
  for (const t of steps) {
    const values = byStep.get(t);
    if (!values || values.length === 0) samples.set(t, { value: null, reason: 'empty result' });
    else if (values.length > 1) {
      severalSteps++;
      samples.set(t, severalSamples(values.length).sample);
    } else samples.set(t, valueSample(values[0]!));
  }
  return { samples, several: severalSteps };
}

/** Whether `body` looks like a Prometheus API envelope. */
export function isApiEnvelope(body: unknown): body is { status: string; data?: PromData; error?: string; errorType?: string; warnings?: unknown[]; infos?: unknown[] } {
  return typeof body === 'object' && body !== null && typeof (body as { status?: unknown }).status === 'string';
}

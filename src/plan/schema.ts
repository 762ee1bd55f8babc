/**
 * The RolloutPlan schema (rollgate.dev/v1alpha1), the single source of truth for plan files,
 * custom resources and the types the engine works with. See docs/plan-reference.md.
 *
 * Durations and instants are validated as text and transformed into epoch/duration
 * milliseconds, so the engine never parses time again. Their `.meta()` states the text they
 * accept as a pattern, so that the generated JSON Schema (json-schema.ts) and the CRD
 * (src/cluster/crd.ts), which see the input side only, check it too; `.describe()`s are the
 * descriptions editors and `kubectl explain` show.
 */
import { z } from 'zod';
import { DURATION_SCHEMA_PATTERN, INSTANT_SCHEMA_PATTERN, parseDuration, parseInstant } from './duration.js';
import { DECISIONS } from '../core/record.js';
import { nonEmpty } from '../support/zod-fields.js';
import { ROUTER_DESCRIPTORS } from '../routers/registry.js';
import type { RouterDescriptor } from '../routers/descriptor.js';

export const API_VERSION = 'rollgate.dev/v1alpha1';
export const KIND = 'RolloutPlan';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A duration such as `30s`, `15m`, `1h30m`, `2d`, as milliseconds. */
export const duration = z
  .string({ error: 'expected a duration such as 30s, 15m, 1h30m or 2d' })
  .refine((s) => parseDuration(s) !== null, {
    error: (iss) => `expected a duration such as 30s, 15m, 1h30m or 2d, got "${String(iss.input)}"`,
  })
  .transform((s) => parseDuration(s)!)
  .meta({ description: 'A duration such as 30s, 15m, 1h30m or 2d (units y, w, d, h, m, s, ms, largest first).', pattern: DURATION_SCHEMA_PATTERN, minLength: 1 });

/** An RFC 3339 instant with an offset, as epoch milliseconds. */
export const instant = z
  .string({ error: 'expected an RFC 3339 instant with an offset, such as 2025-11-01T14:00:00Z' })
  .refine((s) => parseInstant(s) !== null, {
    error: (iss) =>
      `expected an RFC 3339 instant with an offset (Z or +01:00), such as 2025-11-01T14:00:00Z, got "${String(iss.input)}"`,
  })
  .transform((s) => parseInstant(s)!)
  .meta({ description: 'An RFC 3339 instant with an offset, such as 2025-11-01T14:00:00Z or 2025-11-01T15:00:00+01:00.', pattern: INSTANT_SCHEMA_PATTERN });

export const percentage = z
  .number({ error: 'expected a percentage from 0 to 100' })
  .min(0, { error: 'expected a percentage from 0 to 100' })
  .max(100, { error: 'expected a percentage from 0 to 100' });


export const metadataSchema = z.looseObject({
  name: z
    .string({ error: 'expected a name' })
    .max(63, { error: 'must be at most 63 characters (DNS-1123 label)' })
    .regex(DNS1123_LABEL, { error: 'must be a DNS-1123 label: lower-case letters, digits and -, starting and ending with a letter or digit' }),
  namespace: z
    .string()
    .max(63)
    .regex(DNS1123_LABEL, { error: 'must be a DNS-1123 label' })
    .optional(),
});

export const prometheusSchema = z.strictObject({
  address: z.url({ error: 'expected a URL such as http://prometheus:9090' }).optional(),
  timeout: duration.default(10_000),
  headers: z.record(z.string(), z.string()).default({}),
  bearerTokenFile: nonEmpty('a file path').optional(),
  basicAuth: z
    .strictObject({ username: nonEmpty('a user name'), passwordFile: nonEmpty('a file path') })
    .optional(),
});

/** The routers' names, as a zod enum wants them. */
type RouterNames<D extends readonly RouterDescriptor[]> = { [K in keyof D]: D[K]['name'] };

/** `traffic`: `router` (one of the names) and one optional block per router, its descriptor's config. */
type TrafficShape<D extends readonly RouterDescriptor[]> = { router: z.ZodEnum<{ [N in D[number]['name']]: N }> } & {
  [R in D[number] as R['name']]: z.ZodOptional<R['config']>;
};

/** The `traffic` schema for a list of router descriptors (src/routers/registry.ts). */
function trafficSchemaFor<const D extends readonly RouterDescriptor[]>(routers: D): z.ZodObject<TrafficShape<D>, z.core.$strict> {
  const names = routers.map((r) => r.name) as unknown as RouterNames<D>;
  const blocks = Object.fromEntries(routers.map((r) => [r.name, r.config.optional()]));
  // The shape is built from the list, so its type is stated rather than inferred.
  return z.strictObject({ router: z.enum(names, { error: `expected one of ${names.join(', ')}` }), ...blocks }) as unknown as z.ZodObject<TrafficShape<D>, z.core.$strict>;
}


export const NO_DATA_POLICIES = ['inconclusive', 'fail'] as const;

const thresholdFields = {
  min: z.number().optional(),
  max: z.number().optional(),
  rollbackBelow: z.number().optional(),
  rollbackAbove: z.number().optional(),
};

/** The judges a metric can name with `test` (docs/plan-reference.md, "choosing a judge"). */
export const TESTS = ['sequential', 'mann-whitney'] as const;
export const WORSE = ['higher', 'lower'] as const;
export const REQUIRE = ['no-regression', 'proof'] as const;

const TOLERANCE_TEXT = /^(\d+(?:\.\d+)?)%$/;

/** A relative tolerance: `20%` or the fraction `0.2`, as the fraction. */
export const tolerance = z
  .union(
    [
      z.number().min(0, { error: 'expected a tolerance of 0 or more, such as 20% or 0.2' }),
      z.string().regex(TOLERANCE_TEXT, { error: 'expected a tolerance such as 20% (a percentage, written with %) or the fraction 0.2' }),
    ],
    { error: 'expected a tolerance such as 20% or 0.2' },
  )
  .transform((t) => (typeof t === 'number' ? t : Number(TOLERANCE_TEXT.exec(t)![1]) / 100));

/** A probability strictly between 0 and 1 (`alpha`, `confidence`). */
const probability = (what: string) =>
  z
    .number({ error: `expected ${what} between 0 and 1, such as 0.01` })
    .gt(0, { error: `expected ${what} between 0 and 1 (exclusive)` })
    .lt(1, { error: `expected ${what} between 0 and 1 (exclusive)` });

/** One track's error counts: the bad events and all events, as PromQL over `{{window}}`. */
export const countsTrackSchema = z.strictObject({ bad: nonEmpty('a PromQL query'), total: nonEmpty('a PromQL query') });

/** `counts`: the canary's and the baseline's bad and total counts (the sequential test). */
export const countsSchema = z.strictObject({ canary: countsTrackSchema, baseline: countsTrackSchema });

export const metricSchema = z.strictObject({
  name: z
    .string({ error: 'expected a metric name' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'expected letters, digits, _, . or -' }),
  query: nonEmpty('a PromQL query').optional(),
  alerts: z.string().optional(),
  ...thresholdFields,
  critical: z.boolean().default(false),
  weight: z.number().positive({ error: 'expected a positive weight' }).default(1),
  noData: z.enum(NO_DATA_POLICIES).optional(),
  /** Traffic floor (analysis.md section 1): how much evidence the window holds ... */
  samples: nonEmpty('a PromQL query').optional(),
  /** ... and the least of it that is judged (counts: canary requests; mann-whitney: points per side). */
  minSamples: z.number({ error: 'expected a number of samples' }).min(0, { error: 'expected a number of samples, 0 or more' }).optional(),
  /** The baseline's query, same instant and window (relative bounds, mann-whitney). */
  baseline: nonEmpty('a PromQL query').optional(),
  /** Which direction is a regression; higher when absent. */
  worse: z.enum(WORSE, { error: 'expected higher or lower' }).optional(),
  /** Relative bound (fraction), the sequential test's margin, or mann-whitney's effect-size floor. */
  tolerance: tolerance.optional(),
  /** Absolute slack of the relative bound, in the metric's unit. */
  slack: z.number({ error: 'expected a number in the metric\'s unit' }).min(0, { error: 'expected a slack of 0 or more' }).optional(),
  /** Error counts of both tracks (test: sequential). */
  counts: countsSchema.optional(),
  test: z.enum(TESTS, { error: `expected one of ${TESTS.join(', ')}` }).optional(),
  /** Sequential test: false-rollback probability per phase (default 0.01). */
  alpha: probability('alpha').optional(),
  /** Sequential test: what a pass needs (default no-regression). */
  require: z.enum(REQUIRE, { error: `expected one of ${REQUIRE.join(', ')}` }).optional(),
  /** Mann-Whitney: confidence per phase, split over its checkpoints (default 0.98). */
  confidence: probability('a confidence').optional(),
  /** Mann-Whitney: range-query resolution (default 30s). */
  step: duration.optional(),
});

export const thresholdsSchema = z.strictObject(thresholdFields);

export const analysisSchema = z.strictObject({
  noData: z.enum(NO_DATA_POLICIES).default('inconclusive'),
  retryInterval: duration.default(60_000),
  inconclusiveLimit: z.number().int().min(0).default(3),
  onInconclusive: z.enum(['pause', 'rollback']).default('pause'),
  score: z
    .strictObject({ pass: percentage, caution: percentage })
    .optional(),
  onCaution: z.enum(['hold', 'advance']).default('hold'),
});

export const guardSchema = z.strictObject({
  interval: duration.default(30_000),
  window: duration.optional(),
  consecutive: z.number().int().min(1).default(2),
  metrics: z.array(z.string()).optional(),
});

export const rollbackSchema = z.strictObject({
  strategy: z.enum(['immediate', 'gradual']).default('immediate'),
  steps: z.array(percentage).default([50, 25, 0]),
  stepInterval: duration.default(60_000),
});

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

const clockTime = z
  .string({ error: 'expected a time of day HH:MM' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day HH:MM (00:00 to 23:59)' });

export const windowSchema = z.strictObject({
  days: z.array(z.enum(DAYS, { error: `expected a day: ${DAYS.join(', ')}` })).min(1).default([...DAYS]),
  start: clockTime,
  end: clockTime,
  timezone: z.string().default('UTC'),
});

export const blackoutSchema = z.strictObject({
  from: instant,
  to: instant,
  reason: z.string().optional(),
});

/** Decisions a webhook may subscribe to: every decision of the record contract. */
export const NOTIFY_DECISIONS = DECISIONS;

export const notifySchema = z.strictObject({
  webhook: nonEmpty('a webhook URL'),
  on: z.array(z.enum(NOTIFY_DECISIONS)).min(1).default(['rollback', 'pause', 'complete']),
});

/** `{every: 5m, until: 1h}`. */
export const everySchema = z.strictObject({ every: duration, until: duration });

/** One item of a checkpoint list: an offset (`15m`), an instant, or an `{every, until}` block. */
export const checkpointItemSchema = z.union(
  [
    z
      .string()
      .refine((s) => parseDuration(s) !== null || parseInstant(s) !== null, {
        error: (iss) =>
          `expected an offset such as 15m or an RFC 3339 instant such as 2025-11-02T16:15:00Z, got "${String(iss.input)}"`,
      })
      .meta({
        description: 'An offset from the phase start (15m) or an RFC 3339 instant (2025-11-02T16:15:00Z).',
        pattern: `(${DURATION_SCHEMA_PATTERN})|(${INSTANT_SCHEMA_PATTERN})`,
        minLength: 1,
      }),
    everySchema,
  ],
  { error: 'expected an offset (15m), an instant (2025-11-02T16:15:00Z) or {every, until}' },
);

export const phaseSchema = z.strictObject({
  name: z
    .string({ error: 'expected a phase name' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'expected letters, digits, _, . or -' }),
  weight: percentage,
  mirror: percentage.default(0),
  startAt: instant.optional(),
  approval: z.boolean().default(false),
  settle: duration.default(0),
  checkpoints: z.union([z.array(checkpointItemSchema).min(1, { error: 'expected at least one checkpoint' }), everySchema], {
    error: 'expected a list of checkpoints or {every, until}',
  }),
  thresholds: z.record(z.string(), thresholdsSchema).optional(),
  metrics: z.array(z.string()).optional(),
});

/**
 * The plan schema for a list of router descriptors (the `traffic` section comes from them);
 * `planSchema` is it for the registry's list.
 */
export function planSchemaFor<const D extends readonly RouterDescriptor[]>(routers: D) {
  const spec = z.strictObject({
    revision: z
      .string({ error: 'expected a revision string (quote numbers: "42")' })
      .min(1)
      .describe('What is rolled out, as a string (quote numbers: "42"); a new value starts a new rollout from the first phase.'),
    startAt: instant.optional().describe('Before this instant nothing happens; the first split is applied at exactly this instant.'),
    prometheus: prometheusSchema
      .default({ timeout: 10_000, headers: {} })
      .describe('The Prometheus-compatible API the metrics are queried from: address (or --prometheus), timeout, headers, credentials from files.'),
    traffic: trafficSchemaFor(routers).describe('router names the traffic router; the block of the same name configures it (docs/routers.md).'),
    vars: z.record(z.string(), z.string()).default({}).describe('Values for {{name}} in queries, next to the built-in {{rollout}}, {{namespace}}, {{revision}}, {{phase}}, {{weight}}, {{window}}.'),
    metrics: z
      .array(metricSchema)
      .min(1, { error: 'expected at least one metric' })
      .describe('The metrics judged at checkpoints and watched by the guard: a PromQL query (or counts, or alerts) and its thresholds or judge.'),
    analysis: analysisSchema.default({
      noData: 'inconclusive',
      retryInterval: 60_000,
      inconclusiveLimit: 3,
      onInconclusive: 'pause',
      onCaution: 'hold',
    }).describe('How checkpoint verdicts combine: missing data, retries of inconclusive checkpoints, an optional score.'),
    guard: guardSchema
      .default({ interval: 30_000, consecutive: 2 })
      .describe('Re-evaluates the metrics between checkpoints while the canary has traffic; consecutive failures roll back.'),
    rollback: rollbackSchema
      .default({ strategy: 'immediate', steps: [50, 25, 0], stepInterval: 60_000 })
      .describe('How a rollback goes: immediate (to 0 at once) or gradual through steps.'),
    windows: z.array(windowSchema).default([]).describe('When traffic may increase: days, start and end times of day in a time zone. None: any time.'),
    blackouts: z.array(blackoutSchema).default([]).describe('Spans of time, [from, to), in which traffic never increases; they beat windows.'),
    notify: z.array(notifySchema).default([]).describe('Webhooks (Slack-compatible) posted on the listed decisions.'),
    phases: z
      .array(phaseSchema)
      .min(1, { error: 'expected at least one phase' })
      .describe('The steps of the rollout in order: each a canary weight (and mirror), optional gates, and its checkpoints.'),
  });
  return z.looseObject({
    apiVersion: z.literal(API_VERSION, { error: `expected ${API_VERSION}` }),
    kind: z.literal(KIND, { error: `expected ${KIND}` }),
    metadata: metadataSchema.describe('name (a DNS-1123 label) and namespace (default "default"): the rollout\'s identity. Other metadata is accepted and ignored.'),
    spec: spec.describe('The rollout plan (docs/plan-reference.md).'),
  });
}

export const planSchema = planSchemaFor(ROUTER_DESCRIPTORS);
export const specSchema = planSchema.shape.spec;

export type Plan = z.infer<typeof planSchema>;
export type PlanInput = z.input<typeof planSchema>;
export type Spec = Plan['spec'];
export type Metric = Spec['metrics'][number];
export type Counts = z.infer<typeof countsSchema>;
export type MetricTest = (typeof TESTS)[number];
export type Phase = Spec['phases'][number];
export type Thresholds = z.infer<typeof thresholdsSchema>;
export type Analysis = Spec['analysis'];
export type Guard = Spec['guard'];
export type RollbackPolicy = Spec['rollback'];
export type TimeWindow = Spec['windows'][number];
export type Blackout = Spec['blackouts'][number];
export type Notify = Spec['notify'][number];
export type Traffic = Spec['traffic'];
export type PrometheusConfig = Spec['prometheus'];
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** The rollout's identity: `namespace/name`, namespace `default` when absent. */
export function rolloutId(plan: Pick<Plan, 'metadata'>): string {
  return `${plan.metadata.namespace ?? 'default'}/${plan.metadata.name}`;
}

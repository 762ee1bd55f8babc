/**
 * The RolloutPlan schema (rollgate.dev/v1alpha1), the single source of truth for plan files,
 * custom resources and the types the engine works with. See docs/plan-reference.md.
 *
 * Durations and instants are validated as text and transformed into epoch/duration
 * milliseconds, so the engine never parses time again.
 */
import { z } from 'zod';
import { parseDuration, parseInstant } from './duration.js';
import { DECISIONS } from '../core/record.js';

export const API_VERSION = 'rollgate.dev/v1alpha1';
export const KIND = 'RolloutPlan';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A duration such as `30s`, `15m`, `1h30m`, `2d`, as milliseconds. */
export const duration = z
  .string({ error: 'expected a duration such as 30s, 15m, 1h30m or 2d' })
  .refine((s) => parseDuration(s) !== null, {
    error: (iss) => `expected a duration such as 30s, 15m, 1h30m or 2d, got "${String(iss.input)}"`,
  })
  .transform((s) => parseDuration(s)!);

/** An RFC 3339 instant with an offset, as epoch milliseconds. */
export const instant = z
  .string({ error: 'expected an RFC 3339 instant with an offset, such as 2025-11-01T14:00:00Z' })
  .refine((s) => parseInstant(s) !== null, {
    error: (iss) =>
      `expected an RFC 3339 instant with an offset (Z or +01:00), such as 2025-11-01T14:00:00Z, got "${String(iss.input)}"`,
  })
  .transform((s) => parseInstant(s)!);

export const percentage = z
  .number({ error: 'expected a percentage from 0 to 100' })
  .min(0, { error: 'expected a percentage from 0 to 100' })
  .max(100, { error: 'expected a percentage from 0 to 100' });

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const hostPorts = z.union([nonEmpty('host:port'), z.array(nonEmpty('host:port')).min(1)], {
  error: 'expected host:port or a list of host:port',
});

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

export const ROUTERS = ['file', 'nginx', 'haproxy', 'ingress-nginx', 'gateway-api', 'smi', 'istio'] as const;
export type RouterName = (typeof ROUTERS)[number];

const backendRef = z.strictObject({ host: nonEmpty('a host'), subset: z.string().optional() });

export const trafficSchema = z.strictObject({
  router: z.enum(ROUTERS, { error: `expected one of ${ROUTERS.join(', ')}` }),
  file: z.strictObject({ path: nonEmpty('a file path') }).optional(),
  nginx: z
    .strictObject({
      configFile: nonEmpty('a file path'),
      stable: hostPorts,
      canary: hostPorts,
      reload: z.array(z.string()).min(1).default(['nginx', '-s', 'reload']),
      test: z.array(z.string()).min(1).default(['nginx', '-t']),
      mode: z.enum(['lua', 'reload'], { error: 'expected lua (split set without a reload; needs the nginx Lua module) or reload' }).optional(),
    })
    .optional(),
  haproxy: z
    .strictObject({
      socket: nonEmpty('a unix socket path or host:port'),
      backend: nonEmpty('a backend name'),
      stableServer: nonEmpty('a server name'),
      canaryServer: nonEmpty('a server name'),
    })
    .optional(),
  'ingress-nginx': z
    .strictObject({ canaryIngress: nonEmpty('an Ingress name'), namespace: z.string().optional() })
    .optional(),
  'gateway-api': z
    .strictObject({
      httpRoute: nonEmpty('an HTTPRoute name'),
      namespace: z.string().optional(),
      rule: z.number().int().min(0).default(0),
      stableBackend: nonEmpty('a backend (Service) name'),
      canaryBackend: nonEmpty('a backend (Service) name'),
    })
    .optional(),
  smi: z
    .strictObject({
      trafficSplit: nonEmpty('a TrafficSplit name'),
      namespace: z.string().optional(),
      stableBackend: nonEmpty('a backend (Service) name'),
      canaryBackend: nonEmpty('a backend (Service) name'),
    })
    .optional(),
  istio: z
    .strictObject({
      virtualService: nonEmpty('a VirtualService name'),
      namespace: z.string().optional(),
      route: z.string().optional(),
      stable: backendRef,
      canary: backendRef,
    })
    .optional(),
});

export const NO_DATA_POLICIES = ['inconclusive', 'fail'] as const;

const thresholdFields = {
  min: z.number().optional(),
  max: z.number().optional(),
  rollbackBelow: z.number().optional(),
  rollbackAbove: z.number().optional(),
};

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
    z.string().refine((s) => parseDuration(s) !== null || parseInstant(s) !== null, {
      error: (iss) =>
        `expected an offset such as 15m or an RFC 3339 instant such as 2025-11-02T16:15:00Z, got "${String(iss.input)}"`,
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

export const specSchema = z.strictObject({
  revision: z.string({ error: 'expected a revision string (quote numbers: "42")' }).min(1),
  startAt: instant.optional(),
  prometheus: prometheusSchema.default({ timeout: 10_000, headers: {} }),
  traffic: trafficSchema,
  vars: z.record(z.string(), z.string()).default({}),
  metrics: z.array(metricSchema).min(1, { error: 'expected at least one metric' }),
  analysis: analysisSchema.default({
    noData: 'inconclusive',
    retryInterval: 60_000,
    inconclusiveLimit: 3,
    onInconclusive: 'pause',
    onCaution: 'hold',
  }),
  guard: guardSchema.default({ interval: 30_000, consecutive: 2 }),
  rollback: rollbackSchema.default({ strategy: 'immediate', steps: [50, 25, 0], stepInterval: 60_000 }),
  windows: z.array(windowSchema).default([]),
  blackouts: z.array(blackoutSchema).default([]),
  notify: z.array(notifySchema).default([]),
  phases: z.array(phaseSchema).min(1, { error: 'expected at least one phase' }),
});

export const planSchema = z.looseObject({
  apiVersion: z.literal(API_VERSION, { error: `expected ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `expected ${KIND}` }),
  metadata: metadataSchema,
  spec: specSchema,
});

export type Plan = z.infer<typeof planSchema>;
export type PlanInput = z.input<typeof planSchema>;
export type Spec = Plan['spec'];
export type Metric = Spec['metrics'][number];
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

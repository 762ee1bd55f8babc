/**
 * Durations in Prometheus/Go style (`30s`, `15m`, `1h30m`, `2d`) and RFC 3339 instants.
 * Durations are kept as milliseconds inside rollgate and printed back in the same style.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Units must appear from largest to smallest, each at most once (Prometheus' rule). */
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

export const DURATION_PATTERN = /^(\d+(?:y|w|d|h|ms|m|s))+$/;

/**
 * A duration as one regular expression, units in order and each at most once: exactly the
 * non-empty texts `parseDuration` accepts. For schemas (JSON Schema, the CRD's OpenAPI, which
 * Kubernetes checks with RE2: no lookaround), so the empty string is left to `minLength: 1`.
 */
export const DURATION_SCHEMA_PATTERN = '^(\\d+y)?(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)?$';

/** Parses `1h30m` into milliseconds; returns null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  if (!DURATION_PATTERN.test(text)) return null;
  let total = 0;
  let lastUnit = -1;
  for (const m of text.matchAll(/(\d+)(y|w|d|h|ms|m|s)/g)) {
    const unit = m[2]!;
    const order = UNIT_ORDER.indexOf(unit);
    if (order <= lastUnit) return null;
    lastUnit = order;
    total += Number(m[1]) * UNIT_MS[unit]!;
  }
  return total;
}

/** Formats milliseconds as a Prometheus duration: 5400000 -> `1h30m`, 0 -> `0s`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * The `{{window}}` value for a span: whole seconds (Prometheus range selectors accept
 * milliseconds, but whole seconds keep queries readable), at least one second.
 */
export function formatWindow(ms: number): string {
  return formatDuration(Math.max(1000, Math.round(ms / 1000) * 1000));
}

export const INSTANT_PATTERN =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The shape of an instant for schemas: INSTANT_PATTERN with months, days, hours, minutes and
 * seconds in range (`parseInstant` also refuses dates the calendar does not have).
 */
export const INSTANT_SCHEMA_PATTERN =
  '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)$';

/** Parses an RFC 3339 instant with an offset; returns epoch milliseconds or null. */
export function parseInstant(text: string): number | null {
  if (!INSTANT_PATTERN.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

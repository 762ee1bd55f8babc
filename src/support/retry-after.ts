/**
 * The HTTP `Retry-After` header (RFC 9110 §10.2.3): delay seconds or an HTTP date. Read by the
 * Prometheus provider (429/503) and the webhook notifier.
 */

const DELAY_SECONDS = /^\d+(\.\d+)?$/;

/**
 * The wait a `Retry-After` value asks for, in milliseconds from `now` (a date in the past is 0);
 * undefined when the header is absent or is neither delay seconds nor a date.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DELAY_SECONDS.test(text)) return Math.round(Number(text) * 1000);
  // A date names its day or month; without a letter it is a malformed number ("-5", "1,5").
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

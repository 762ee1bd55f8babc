/**
 * Secret scrubbing for anything that may reach a log line, an error message or a webhook
 * body. Two rules: values under secret-bearing keys are replaced, at any depth; URLs lose
 * their credentials (and, where the path itself is the secret, their path).
 */

export const CENSOR = '[redacted]';

/** Keys whose values are secrets wherever they appear (compared case-insensitively). */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'password',
  'passwd',
  'secret',
  'token',
  'accesstoken',
  'bearertoken',
  'apikey',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'webhook',
  'webhookurl',
  'headers',
  'basicauth',
]);

const MAX_DEPTH = 12;

/**
 * A copy of `value` with secrets censored: values under SECRET_KEYS become CENSOR and URL
 * strings lose any `user:password@`. Errors, dates and other class instances are kept as they
 * are (pino's serializers handle them); cycles and very deep nesting are cut.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, 0, new WeakSet()) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return stripUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (!isPlain(value)) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item) => walk(item, depth + 1, seen));
  } else {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = SECRET_KEYS.has(key.toLowerCase()) && item != null ? CENSOR : walk(item, depth + 1, seen);
    }
    out = copy;
  }
  seen.delete(value);
  return out;
}

function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const URL_WITH_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

/** `https://user:pw@host/x` → `https://[redacted]@host/x`, anywhere in a string. */
export function stripUrlCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_WITH_USERINFO, `$1${CENSOR}@`) : text;
}

/** A URL safe to print when its path is not secret: scheme, host and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '[unparseable URL]';
  }
}

/**
 * A webhook URL safe to print: scheme and host only, the rest elided (`https://hooks.slack.com/…`).
 * Webhook URLs carry their secret in the path (Slack, Teams, Discord) or the query.
 */
export function redactWebhook(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '[unparseable URL]';
  }
}

/**
 * One webhook POST. Every failure becomes a WebhookError whose message names the webhook only
 * as `scheme://host/…`: the URL's path and query are the secret (Slack, Teams, Discord) and
 * must never reach a log line or an error message. Raw client errors are not passed on, as
 * they carry the full request configuration.
 */
import axios, { AxiosError } from 'axios';
import { redactWebhook } from '../support/redact.js';
import { parseRetryAfter } from '../support/retry-after.js';
import { formatSpan } from '../support/human-time.js';

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  constructor(
    message: string,
    /** Worth another try: network errors, timeouts, 5xx and 429. */
    readonly retryable: boolean,
    readonly status?: number,
    /** The server's Retry-After, in ms, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface PostOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** POSTs `body` as JSON; resolves on 2xx, throws WebhookError otherwise. */
export async function postWebhook(url: string, body: unknown, opts: PostOptions): Promise<void> {
  const target = redactWebhook(url);
  let status: number;
  let retryAfter: unknown;
  try {
    const res = await axios.post(url, body, {
      timeout: opts.timeoutMs,
      signal: opts.signal,
      headers: { 'content-type': 'application/json' },
      maxRedirects: 0,
      validateStatus: () => true,
      // The reply is not used; do not buffer an arbitrary amount of it.
      maxContentLength: 64 * 1024,
      responseType: 'text',
    });
    status = res.status;
    retryAfter = res.headers['retry-after'];
  } catch (err) {
    throw networkError(err, target, opts.timeoutMs);
  }
  if (status >= 200 && status < 300) return;
  const retryable = status >= 500 || status === 429 || status === 408;
  throw new WebhookError(`webhook ${target} answered HTTP ${status}`, retryable, status, parseRetryAfter(retryAfter));
}

function networkError(err: unknown, target: string, timeoutMs: number): WebhookError {
  if (axios.isCancel(err) || (err instanceof Error && err.name === 'AbortError')) {
    return new WebhookError(`webhook ${target}: delivery cancelled`, false);
  }
  const code = err instanceof AxiosError || err instanceof Error ? (err as { code?: string }).code : undefined;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new WebhookError(`webhook ${target}: no answer within ${formatSpan(timeoutMs)}`, true);
  }
  if (code === 'ERR_INVALID_URL' || err instanceof TypeError) {
    return new WebhookError(`webhook ${target}: invalid URL`, false);
  }
  // Only the error code: client messages can quote the URL.
  return new WebhookError(`webhook ${target}: network error ${code ?? 'unknown'}`, true);
}

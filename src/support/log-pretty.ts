/**
 * The pretty log format: each pino line turned into text for people by `pino-pretty`,
 * synchronously (a line written before `process.exit()` or a crash is on the terminal, none is
 * queued in a worker or a stream). A line reads
 *
 *     2026-12-02 08:14:03.127 +0100 WARN: default/web-api: checkpoint 2/3 of ramp-50: rollback (...)
 *
 * then ` (key=value, ...)` with the line's other fields, except where the message already says
 * everything (decision, manual-action and applied-split lines: `event`), and the stack of an
 * error on the lines below. The input is the JSON line pino wrote, secrets already redacted.
 */
import { prettyFactory } from 'pino-pretty';

/** Fields never shown in the pretty tail: the process name, and the rollout the message starts with. */
const QUIET_FIELDS = new Set(['level', 'time', 'msg', 'app', 'rollout', 'event']);

export interface PrettyOptions {
  /** ANSI colours for the level (a terminal). */
  colorize: boolean;
}

/** A function from one JSON log line to its pretty text (ending in a newline). */
export function prettyLines(opts: PrettyOptions): (line: string) => string {
  return prettyFactory({
    colorize: opts.colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
    hideObject: true,
    messageFormat: (log, messageKey) => `${String(log[messageKey] ?? '')}${tail(log)}`,
  });
}

/** ` (key=value, ...)` and an error's stack, or '' for a line whose message says everything. */
function tail(log: Record<string, unknown>): string {
  if (typeof log.event === 'string') return '';
  const parts: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(log)) {
    if (QUIET_FIELDS.has(key) || value === undefined) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${String(err.message)}`);
      if (typeof err.stack === 'string') stack = `\n    ${err.stack.split('\n').join('\n    ')}`;
      continue;
    }
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return `${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${stack}`;
}

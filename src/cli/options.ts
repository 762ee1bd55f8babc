/**
 * Options and conventions shared by the commands that run or read rollouts.
 */
import { parseDuration, parseInstant } from '../plan/duration.js';
import { defaultLogFormat, isLogFormat, LOG_FORMATS, type LogFormat } from '../support/log.js';

export const DEFAULT_STATE_DIR = './.rollgate';

/** A failure to report as one line and an exit status (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * A time on the command line: an RFC 3339 instant, `now`, or `now-48h` / `now+1h`.
 * A usage error (exit 2) otherwise.
 */
export function parseTimeOption(text: string, option: string, now = Date.now()): number {
  if (text === 'now') return now;
  const rel = /^now([+-])(.+)$/.exec(text);
  if (rel) {
    const d = parseDuration(rel[2]!);
    if (d !== null) return rel[1] === '+' ? now + d : now - d;
  }
  const t = parseInstant(text);
  if (t !== null) return t;
  throw new CliError(`${option}: expected an RFC 3339 instant (2025-11-01T14:00:00Z), now, or now-48h; got "${text}"`, 2);
}

/** `--max-queries`: Prometheus queries in flight at once for the whole process, a whole number from 1 to 10,000. */
export function parseMaxQueries(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 10_000)) throw new CliError(`--max-queries: expected a whole number from 1 to 10000, got "${text}"`, 2);
  return n;
}

/** `host:port` for --listen (or another address flag, `flag`); port 0 picks a free one. */
export function parseListen(text: string, flag = '--listen', example = '127.0.0.1:9464'): { host: string; port: number } | null {
  if (text === 'off' || text === 'none') return null;
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m) throw new CliError(`${flag}: expected host:port (e.g. ${example}) or off, got "${text}"`, 2);
  const port = Number(m[2]);
  if (port > 65535) throw new CliError(`${flag}: port ${port} is out of range`, 2);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}

/** The help of `--log-format`, the same on every command that logs. */
export const LOG_FORMAT_HELP = 'json (one object per line) or pretty (text for people); default: ROLLGATE_LOG_FORMAT, else pretty when stderr is a terminal, json otherwise';

/**
 * The log format: `--log-format`, else the environment variable ROLLGATE_LOG_FORMAT, else
 * pretty when the logs (stderr) go to a terminal and JSON otherwise. A usage error (exit 2)
 * for anything but json or pretty.
 */
export function parseLogFormat(flag: string | undefined, env: string | undefined = process.env.ROLLGATE_LOG_FORMAT, stderrIsTTY?: boolean): LogFormat {
  const [text, source] = flag !== undefined ? [flag, '--log-format'] : env ? [env, 'ROLLGATE_LOG_FORMAT'] : [undefined, ''];
  if (text === undefined) return defaultLogFormat(stderrIsTTY);
  if (!isLogFormat(text)) throw new CliError(`${source}: expected ${LOG_FORMATS.join(' or ')}, got "${text}"`, 2);
  return text;
}

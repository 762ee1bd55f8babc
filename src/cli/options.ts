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

/** What a time option accepts, for help texts and usage errors. */
export const TIME_FORMS =
  'an RFC 3339 instant with an offset (2025-11-01T14:00:00Z, 2025-11-01T15:00:00+01:00), a date (2025-11-01: midnight UTC), now, or now-48h / now+2h (any duration: now-1h30m)';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const NO_OFFSET = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * A time on the command line (`--from`, `--until`): `now`, `now-DURATION` / `now+DURATION`
 * (durations as in plans: 48h, 1h30m, 2d), an RFC 3339 instant with an offset (`T` or a space
 * between date and time, any case), or a date alone (midnight UTC). A usage error (exit 2)
 * naming the option and the accepted forms otherwise.
 */
export function parseTimeOption(text: string, option: string, now = Date.now()): number {
  const usage = (why: string) => new CliError(`${option}: ${why}; expected ${TIME_FORMS}`, 2);
  const t = text.trim();
  if (t === 'now') return now;
  const rel = /^now\s*([+-])\s*(.*)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[2]!);
    if (d === null) throw usage(`"${rel[2]}" in "${text}" is not a duration such as 30m, 48h or 1h30m`);
    return rel[1] === '+' ? now + d : now - d;
  }
  if (DATE_ONLY.test(t)) {
    const ms = parseInstant(`${t}T00:00:00Z`);
    if (ms !== null && new Date(ms).toISOString().startsWith(t)) return ms;
    throw usage(`"${text}" is not a date of the calendar`);
  }
  const normalized = t.replace(/^(\d{4}-\d{2}-\d{2})[t ]/, '$1T').replace(/z$/, 'Z');
  const ms = parseInstant(normalized);
  if (ms !== null) return ms;
  if (NO_OFFSET.test(t)) throw usage(`"${text}" has no offset: add Z for UTC or one such as +01:00`);
  throw usage(`got "${text}"`);
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

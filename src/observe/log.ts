/**
 * Structured logs with pino. Secrets never reach a log line: known secret-bearing fields are
 * redacted by path, and URLs are stripped of credentials and query strings before logging.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  'webhook',
  'headers',
  '*.password',
  '*.token',
  '*.authorization',
  '*.Authorization',
  '*.webhook',
  '*.headers',
  'prometheus.headers',
  'prometheus.basicAuth',
];

export interface LogOptions {
  level?: string;
  /** Where lines go; stderr by default so that stdout stays for command output. */
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.ROLLGATE_LOG_LEVEL ?? 'info',
      base: { app: 'rollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A URL safe to print: scheme, host and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '[unparseable URL]';
  }
}

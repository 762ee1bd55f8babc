/**
 * Structured logs with pino, in one of two formats: `json` (one object per line, the level as
 * its name: `"level":"info"`) for machines, `pretty` (log-pretty.ts) for people. Secrets never
 * reach a log line in either: values under secret-bearing keys are redacted at any depth (a
 * whole plan can be logged), URLs in values lose their credentials, and webhook URLs are only
 * ever printed as `scheme://host/…` (redactWebhook); the pretty text is made from the redacted
 * JSON line.
 *
 * A line about one rollout carries its id in the field `rollout` and starts its message with
 * `<rollout>: ` (two rollouts in one process are told apart in either format): a logger of
 * rolloutLogger() does both, and so does any line logged with a `rollout` field.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { CENSOR, redactSecrets } from './redact.js';
import { prettyLines } from './log-pretty.js';

export { safeUrl, redactWebhook, redactSecrets } from './redact.js';

export type Logger = PinoLogger;

/** Fast path-based redaction of the usual top-level places; redactSecrets covers any depth. */
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

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function isLogFormat(text: string): text is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(text);
}

/** The format when none is asked for: pretty when the logs go to a terminal (stderr), JSON otherwise. */
export function defaultLogFormat(stderrIsTTY: boolean = process.stderr.isTTY === true): LogFormat {
  return stderrIsTTY ? 'pretty' : 'json';
}

export interface LogOptions {
  level?: string;
  /** `json` by default. */
  format?: LogFormat;
  /** Pretty format only: ANSI colours for the levels. Default: when stderr is a terminal and NO_COLOR is not set. */
  colorize?: boolean;
  /** Where lines go; stderr by default so that stdout stays for command output. */
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const destination = opts.destination ?? pino.destination({ fd: 2, sync: true });
  const logger = pino(
    {
      level: opts.level ?? process.env.ROLLGATE_LOG_LEVEL ?? 'info',
      base: { app: 'rollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      // Client errors carry their request (axios: `config.headers.Authorization`, `config.url`).
      serializers: { err: serializeError },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactSecrets(bindings),
        // Each line's fields, scrubbed at any depth.
        log: (fields) => redactSecrets(fields),
      },
      hooks: { logMethod: namingTheRollout },
    },
    opts.format === 'pretty' ? prettyDestination(destination, opts.colorize ?? (process.stderr.isTTY === true && !process.env.NO_COLOR)) : destination,
  );
  // pino resets the bindings formatter for children; scrub `log.child({plan})` bindings here.
  // Children inherit this `child` through their prototype, so grandchildren are covered too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
}

/**
 * A logger for the lines of one rollout: each carries `rollout: id` and its message starts
 * with `id: `.
 */
export function rolloutLogger(log: Logger, id: string): Logger {
  if (log.msgPrefix?.startsWith(`${id}: `)) return log;
  return log.child({ rollout: id }, { msgPrefix: `${id}: ` });
}

/**
 * pino's logMethod hook: a line logged with a `rollout` field gets `<rollout>: ` in front of
 * its message, unless the message (with the logger's prefix) already starts with it.
 */
function namingTheRollout(this: Logger, args: Parameters<Logger['info']>, method: (...args: unknown[]) => void): void {
  const line = args as unknown[];
  const [fields, message] = line;
  if (typeof message === 'string' && fields !== null && typeof fields === 'object' && !(fields instanceof Error)) {
    const { rollout, ...rest } = fields as { rollout?: unknown };
    if (typeof rollout === 'string') {
      const prefix = `${rollout}: `;
      // A rolloutLogger of this rollout already carries the field and the prefix (no duplicate key).
      if (this.msgPrefix?.startsWith(prefix)) line[0] = rest;
      else if (!`${this.msgPrefix ?? ''}${message}`.startsWith(prefix)) line[1] = `${prefix}${message}`;
    }
  }
  method.apply(this, line);
}

/** Each JSON line turned into pretty text, written synchronously to `destination`. */
function prettyDestination(destination: DestinationStream, colorize: boolean): DestinationStream {
  const pretty = prettyLines({ colorize });
  return { write: (line: string) => destination.write(pretty(line)) };
}

/** pino's error serializer, then secrets scrubbed from the (plain) copy. */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return redactSecrets(err);
  return redactSecrets({ ...pino.stdSerializers.err(err) });
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

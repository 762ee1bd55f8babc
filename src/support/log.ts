/**
 * Structured logs with pino. Secrets never reach a log line: values under secret-bearing keys
 * are redacted at any depth (a whole plan can be logged), URLs in values lose their
 * credentials, and webhook URLs are only ever printed as `scheme://host/…` (redactWebhook).
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { CENSOR, redactSecrets } from './redact.js';

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

export interface LogOptions {
  level?: string;
  /** Where lines go; stderr by default so that stdout stays for command output. */
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const logger = pino(
    {
      level: opts.level ?? process.env.ROLLGATE_LOG_LEVEL ?? 'info',
      base: { app: 'rollgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      // Client errors carry their request (axios: `config.headers.Authorization`, `config.url`).
      serializers: { err: serializeError },
      formatters: {
        bindings: (bindings) => redactSecrets(bindings),
        // Each line's fields, scrubbed at any depth.
        log: (fields) => redactSecrets(fields),
      },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  // pino resets the bindings formatter for children; scrub `log.child({plan})` bindings here.
  // Children inherit this `child` through their prototype, so grandchildren are covered too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options);
  } as Logger['child'];
  return logger;
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

/**
 * The log formats (support/log.ts, support/log-pretty.ts): JSON with level names, pretty text
 * from pino-pretty, the choice between them (--log-format, ROLLGATE_LOG_FORMAT, a terminal),
 * and the rollout named in every line about one.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFormat, rolloutLogger, type LogFormat } from '../../src/support/log.js';
import { CliError, parseLogFormat } from '../../src/cli/options.js';

function capture(format: LogFormat, level = 'trace') {
  const lines: string[] = [];
  const log = createLogger({ level, format, colorize: false, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('JSON format', () => {
  it('writes each level by its name', () => {
    const { log, parsed } = capture('json');
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(parsed().map((l) => [l.level, l.msg])).toEqual([
      ['trace', 't'],
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
      ['fatal', 'f'],
    ]);
  });

  it('a rollout logger names the rollout in the field and at the start of the message, once', () => {
    const { log, lines, parsed } = capture('json');
    const web = rolloutLogger(log, 'default/web-api');
    web.info({ seq: 3 }, 'checkpoint 2/3 of ramp-50 passed');
    web.warn({ rollout: 'default/web-api', seq: 4 }, 'explicit field too');
    expect(parsed()).toMatchObject([
      { level: 'info', rollout: 'default/web-api', seq: 3, msg: 'default/web-api: checkpoint 2/3 of ramp-50 passed' },
      { level: 'warn', rollout: 'default/web-api', seq: 4, msg: 'default/web-api: explicit field too' },
    ]);
    // No duplicate key: the binding and the field are one `rollout`.
    for (const line of lines) expect(line.match(/"rollout":/g)).toHaveLength(1);
  });

  it('a line logged with a rollout field starts its message with that rollout, unless it already does', () => {
    const { log, parsed } = capture('json');
    log.info({ rollout: 'shop/cart' }, 'managed from plans/cart.yaml');
    log.info({ rollout: 'shop/cart' }, 'shop/cart: already named');
    log.error({ err: new Error('boom'), rollout: 'shop/cart' }, 'step failed');
    log.info('no rollout here');
    expect(parsed().map((l) => l.msg)).toEqual(['shop/cart: managed from plans/cart.yaml', 'shop/cart: already named', 'shop/cart: step failed', 'no rollout here']);
  });

  it('two rollouts in one process are told apart by the message alone', () => {
    const { log, parsed } = capture('json');
    rolloutLogger(log, 'a/one').info('checkpoint 1/2 of ramp passed');
    rolloutLogger(log, 'b/two').info('checkpoint 1/2 of ramp passed');
    expect(parsed().map((l) => l.msg)).toEqual(['a/one: checkpoint 1/2 of ramp passed', 'b/two: checkpoint 1/2 of ramp passed']);
  });
});

describe('pretty format', () => {
  it('writes text for people: time, level name, the message with its rollout, the other fields; no JSON', () => {
    const { log, lines } = capture('pretty');
    rolloutLogger(log, 'default/web-api').warn({ router: 'nginx', retryInSeconds: 4 }, 'router failed to apply 25%');
    log.info({ event: 'decision', rollout: 'default/web-api', seq: 7, metrics: [{ name: 'e', value: 0.1 }] }, 'checkpoint 1/2 of ramp: continue; weight 10');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(() => JSON.parse(line)).toThrow();
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] WARN: default\/web-api: router failed to apply 25% \(router=nginx, retryInSeconds=4\)\n$/);
    // A decision line's message says everything: its fields are not repeated.
    expect(lines[1]).toMatch(/\] INFO: default\/web-api: checkpoint 1\/2 of ramp: continue; weight 10\n$/);
  });

  it('shows an error message and its stack, no colours when asked for none', () => {
    const { log, lines } = capture('pretty');
    log.error({ err: new Error('disk full') }, 'journal append failed');
    expect(lines[0]).toMatch(/ERROR: journal append failed \(err=disk full\)\n {4}Error: disk full\n {8}at /);
    expect(lines[0]).not.toMatch(/\x1b\[/);
  });

  it('colours the level when colorize is on', () => {
    const lines: string[] = [];
    createLogger({ format: 'pretty', colorize: true, destination: { write: (s: string) => void lines.push(s) } }).warn('careful');
    expect(lines[0]).toMatch(/\x1b\[\d+mWARN\x1b\[\d+m/);
  });

  it('redacts secrets as the JSON format does', () => {
    const { log, lines } = capture('pretty');
    log.info({ rollout: 'x/y', prometheus: { headers: { Authorization: 'Bearer T0PSECRET' } }, url: 'https://user:hunter2@prom.example/api', token: 'T0KEN' }, 'query');
    expect(lines[0]).not.toMatch(/T0PSECRET|hunter2|T0KEN/);
    expect(lines[0]).toContain('[redacted]');
  });
});

describe('choosing the format', () => {
  it('--log-format wins over ROLLGATE_LOG_FORMAT, which wins over the terminal default', () => {
    expect(parseLogFormat('json', 'pretty', true)).toBe('json');
    expect(parseLogFormat('pretty', 'json', false)).toBe('pretty');
    expect(parseLogFormat(undefined, 'pretty', false)).toBe('pretty');
    expect(parseLogFormat(undefined, 'json', true)).toBe('json');
  });

  it('by default: pretty when stderr is a terminal, JSON otherwise', () => {
    expect(parseLogFormat(undefined, undefined, true)).toBe('pretty');
    expect(parseLogFormat(undefined, undefined, false)).toBe('json');
    expect(parseLogFormat(undefined, '', false)).toBe('json');
    expect(defaultLogFormat(true)).toBe('pretty');
    expect(defaultLogFormat(false)).toBe('json');
  });

  it('anything else is a usage error naming where it came from', () => {
    const usage = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        return [(err as CliError).exitCode, (err as CliError).message];
      }
      throw new Error('no error');
    };
    expect(usage(() => parseLogFormat('text', undefined, true))).toEqual([2, '--log-format: expected json or pretty, got "text"']);
    expect(usage(() => parseLogFormat(undefined, 'JSON', true))).toEqual([2, 'ROLLGATE_LOG_FORMAT: expected json or pretty, got "JSON"']);
  });
});

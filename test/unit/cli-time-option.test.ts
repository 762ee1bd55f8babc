/**
 * `--from` / `--until` of `plan` and `simulate` (src/cli/options.ts): every form README.md and
 * the help promise, and a usage error (exit 2) naming the option and the forms otherwise.
 */
import { describe, expect, it } from 'vitest';
import { CliError, parseTimeOption } from '../../src/cli/options.js';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const H = 3_600_000;
const parse = (text: string) => parseTimeOption(text, '--from', NOW);

function usageError(text: string): CliError {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('parseTimeOption', () => {
  it('accepts now and now plus or minus any plan duration', () => {
    expect(parse('now')).toBe(NOW);
    expect(parse('now-48h')).toBe(NOW - 48 * H);
    expect(parse('now-1h')).toBe(NOW - H);
    expect(parse('now+2h')).toBe(NOW + 2 * H);
    expect(parse('now-1h30m')).toBe(NOW - 1.5 * H);
    expect(parse('now-2d')).toBe(NOW - 48 * H);
    expect(parse('now - 15m')).toBe(NOW - H / 4);
  });

  it('accepts RFC 3339 / ISO 8601 instants with an offset, and dates as midnight UTC', () => {
    expect(parse('2025-11-01T14:00:00Z')).toBe(Date.parse('2025-11-01T14:00:00Z'));
    expect(parse('2025-11-01T15:00:00+01:00')).toBe(Date.parse('2025-11-01T14:00:00Z'));
    expect(parse('2025-11-01T14:00Z')).toBe(Date.parse('2025-11-01T14:00:00Z'));
    expect(parse('2025-11-01 14:00:00.250Z')).toBe(Date.parse('2025-11-01T14:00:00.250Z'));
    expect(parse('2025-11-01t14:00:00z')).toBe(Date.parse('2025-11-01T14:00:00Z'));
    expect(parse('2025-11-01')).toBe(Date.parse('2025-11-01T00:00:00Z'));
  });

  it('refuses anything else as a usage error naming the option and the accepted forms', () => {
    for (const text of ['yesterday', 'now-', 'now-1 hour', 'now-1x', '-48h', '2025-11-01T14:00:00', '2025-02-30', '2025-13-01T00:00:00Z', '']) {
      const err = usageError(text);
      expect(err.exitCode, text).toBe(2);
      expect(err.message, text).toMatch(/^--from: /);
      expect(err.message, text).toContain('expected an RFC 3339 instant with an offset');
      expect(err.message, text).toContain('now-48h');
    }
    expect(usageError('2025-11-01T14:00:00').message).toContain('has no offset: add Z for UTC or one such as +01:00');
    expect(usageError('now-1 hour').message).toContain('"1 hour" in "now-1 hour" is not a duration');
    expect(parseTimeOption.bind(null, 'soon', '--until', NOW)).toThrow(/^--until: /);
  });
});

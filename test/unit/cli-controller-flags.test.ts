/** `rollgate controller` flags: --shards and --max-shards-per-replica are whole numbers from 1 to 1024 (usage error 2 otherwise). */
import { describe, expect, it } from 'vitest';
import { parseCount } from '../../src/cli/controller.js';
import { CliError } from '../../src/cli/options.js';

describe('rollgate controller --shards / --max-shards-per-replica', () => {
  it('takes a whole number from 1 to 1024', () => {
    expect(parseCount('--shards', '1')).toBe(1);
    expect(parseCount('--shards', ' 5 ')).toBe(5);
    expect(parseCount('--max-shards-per-replica', '1024')).toBe(1024);
  });

  it.each(['0', '-1', '2.5', 'five', '', '1025', '1e2'])('refuses %j as a usage error naming the flag', (text) => {
    let err: unknown;
    try {
      parseCount('--shards', text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ message: `--shards: "${text}" is not a whole number from 1 to 1024` });
    expect((err as CliError).exitCode).toBe(2);
  });
});

/**
 * Usage errors as a user meets them (`node dist/main.js`): a mistyped command or option is
 * answered on one line with the closest name, and exits 2.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = path.resolve(__dirname, '../../dist/main.js');

function rollgate(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('usage errors', () => {
  it('suggests the command meant by a mistyped one, on one line, and exits 2', () => {
    const r = rollgate('stauts');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown command 'stauts' (Did you mean status?)\n");
    expect(r.stdout).toBe('');
  });

  it('suggests the option meant by a mistyped one, on one line, and exits 2', () => {
    const r = rollgate('status', '--wacth');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown option '--wacth' (Did you mean --watch?)\n");
  });
});

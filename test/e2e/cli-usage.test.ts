/**
 * Usage errors as a user meets them (`node dist/main.js`): a mistyped command or option is
 * answered on one line with the closest name, and exits 2; `help` with a mistyped command
 * too, while `help` with a command prints that command's help. Output to a pipe its reader
 * closed (`| head`) ends the command quietly.
 */
import { spawn, spawnSync } from 'node:child_process';
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

  it('help with a mistyped command answers as the mistyped command alone: one line, the closest name, exit 2', () => {
    const r = rollgate('help', 'stauts');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown command 'stauts' (Did you mean status?)\n");
    expect(r.stdout).toBe('');
    const far = rollgate('help', 'xyzzy');
    expect(far.code).toBe(2);
    expect(far.stderr).toBe("error: unknown command 'xyzzy'\n");
  });

  it("help with a command prints that command's help on stdout, exit 0; help alone the program's", () => {
    const r = rollgate('help', 'status');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: rollgate status \[options\] \[name\]\n/);
    expect(r.stdout).toContain('--overdue-after <duration>');
    expect(r.stderr).toBe('');
    const all = rollgate('help');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^Usage: rollgate \[options\] \[command\]\n/);
    expect(all.stdout).toMatch(/\n  help \[command\] +display help for command\n/);
  });
});

describe('output to a closed pipe', () => {
  it('a reader that closed its end (| head) ends the command quietly: no EPIPE stack trace, exit 0', async () => {
    const child = spawn(process.execPath, [MAIN, 'schema'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    child.stdout.destroy(); // closed before the command writes: its first write meets EPIPE
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

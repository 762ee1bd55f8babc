/**
 * README.md's "Try it" works from a clone: every `node dist/main.js ...` line of its code block
 * is run by a shell in the repository's root, as a reader pastes it, and exits with the status
 * its comment states (`exit N`). The example plans it names are in the repository
 * (examples/), equal in content to the contract's examples.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const SHARED_EXAMPLES = path.resolve(ROOT, '../shared/examples');

/** The lines of the first ```sh block under `## Try it`. */
function tryItLines(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Try it\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## Try it"');
  return block[1]!.split('\n').filter((l) => l.trim() !== '');
}

describe('README.md "Try it"', () => {
  const lines = tryItLines();
  const commands = lines.filter((l) => l.startsWith('node dist/main.js '));

  it('holds only the build line and rollgate commands that state their exit status', () => {
    expect(lines[0]).toBe('npm ci && npm run build');
    expect(commands.length).toBeGreaterThanOrEqual(2);
    expect(lines.slice(1), 'every line after the build runs node dist/main.js').toEqual(commands);
    for (const line of commands) expect(line, 'the comment of each line says "exit N"').toMatch(/#.*\bexit \d+/);
  });

  for (const line of commands) {
    const [command, comment] = [line.slice(0, line.indexOf('#')).trim(), line.slice(line.indexOf('#'))];
    const expected = Number(/\bexit (\d+)/.exec(comment)?.[1]);
    it(`${command} exits ${expected}`, () => {
      const r = spawnSync('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 120_000 });
      expect(r.status, `${command}\n${r.stdout}${r.stderr}`).toBe(expected);
      expect(r.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
      const quoted = /"([^"]+)"/.exec(comment)?.[1];
      if (quoted) expect(r.stdout + r.stderr).toContain(quoted);
    });
  }
});

describe('examples/', () => {
  it('holds every example plan of the contract, with the same content', () => {
    const shared = readdirSync(SHARED_EXAMPLES).filter((f) => f.endsWith('.yaml'));
    expect(shared.length).toBeGreaterThan(0);
    for (const name of shared) {
      const copy = path.join(ROOT, 'examples', name);
      // Comments may differ (an editor's schema line); the plans may not.
      expect(parse(readFileSync(copy, 'utf8')), `examples/${name}`).toEqual(parse(readFileSync(path.join(SHARED_EXAMPLES, name), 'utf8')));
    }
  });
});

/**
 * `rollgate schema` as a user runs it (`node dist/main.js`, built first): it prints the committed
 * schema/rolloutplan.schema.json, and a plan naming the printed file with a
 * `# yaml-language-server: $schema=...` first line still validates (the line is a comment).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planJsonSchemaText } from '../../src/plan/json-schema.js';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-schema-'));

function rollgate(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Each test starts node once or twice; on a loaded machine that alone can take a minute.
describe('rollgate schema', { timeout: 300_000 }, () => {
  it('prints the committed JSON Schema and exits 0', () => {
    const r = rollgate(['schema']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(path.join(ROOT, 'schema/rolloutplan.schema.json'), 'utf8'));
    expect(JSON.parse(r.stdout)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'RolloutPlan' });
  });

  it('--help says what it prints, the modeline to use and the exit status', () => {
    const r = rollgate(['schema', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('JSON Schema (draft 2020-12)');
    expect(r.stdout).toContain('# yaml-language-server: $schema=./rolloutplan.schema.json');
    expect(r.stdout).toContain('Exit status: 0');
  });

  it('a plan whose first line names the printed schema validates as before', () => {
    writeFileSync(path.join(dir, 'rolloutplan.schema.json'), planJsonSchemaText());
    const plan = readFileSync(path.join(ROOT, 'test/fixtures/plans/valid.yaml'), 'utf8');
    writeFileSync(path.join(dir, 'shop.yaml'), `# yaml-language-server: $schema=./rolloutplan.schema.json\n${plan}`);
    const r = rollgate(['validate', 'shop.yaml']);
    expect(r.stdout).toBe('shop.yaml: 1 plan valid\n');
    expect(r.code).toBe(0);
  });

  it('an extra argument is a usage error (exit 2)', () => {
    const r = rollgate(['schema', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/too many arguments/);
  });
});

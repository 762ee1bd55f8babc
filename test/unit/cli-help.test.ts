/**
 * Every command's `--help` ends with its exit statuses, and says at least what
 * docs/decision-record.md's "Exit codes" table says for it (plus 2 for usage errors).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';

const DOC = path.resolve(__dirname, '../../docs/decision-record.md');

/** command name -> the status cell of its row in the "## Exit codes" table. */
function documentedExitCodes(): Map<string, string> {
  const text = readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('## Exit codes'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('## ')) break;
    const m = /^\|\s*([a-z][a-z, ]*?)\s*\|\s*(.+?)\s*\|$/.exec(line);
    if (!m || m[1] === 'command') continue;
    for (const name of m[1]!.split(',')) rows.set(name.trim(), m[2]!);
  }
  return rows;
}

function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out;
}

const codes = (text: string) => new Set([...text.matchAll(/\b\d+\b/g)].map((m) => Number(m[0])));

describe('--help of every command', () => {
  const commands = buildProgram().commands;

  it('registers the commands the table documents', () => {
    const names = commands.map((c) => c.name());
    for (const name of documentedExitCodes().keys()) expect(names, `docs/decision-record.md documents "${name}"`).toContain(name);
  });

  for (const cmd of commands) {
    it(`${cmd.name()} --help lists its exit statuses`, () => {
      const help = helpOf(cmd);
      const line = /\nExit status: (.+(?:\n.+)*)\s*$/.exec(help);
      expect(
        line,
        `rollgate ${cmd.name()} --help has no "Exit status:" section: add .addHelpText('after', '\\nExit status: 0 ..., 1 ..., 2 usage.') ` +
          'to its register() and a row to the "## Exit codes" table of docs/decision-record.md',
      ).not.toBeNull();
      const listed = codes(line![1]!);
      expect([...listed], `rollgate ${cmd.name()} --help: usage errors exit 2`).toContain(2);
      const documented = documentedExitCodes().get(cmd.name());
      expect(documented, `docs/decision-record.md "## Exit codes" has no row for ${cmd.name()}`).toBeDefined();
      for (const code of codes(documented!)) {
        expect([...listed], `rollgate ${cmd.name()} --help leaves out exit status ${code} of docs/decision-record.md ("${documented}")`).toContain(code);
      }
    });
  }
});

describe('the program name in usage lines', () => {
  it('is rollgate by default and the given name (the kubectl plugin) for the program and every command', () => {
    expect(helpOf(buildProgram())).toMatch(/^Usage: rollgate \[options\] \[command\]\n/);
    const plugin = buildProgram('kubectl rollgate');
    expect(helpOf(plugin)).toMatch(/^Usage: kubectl rollgate \[options\] \[command\]\n/);
    for (const cmd of plugin.commands) expect(helpOf(cmd).split('\n')[0]).toMatch(new RegExp(`^Usage: kubectl rollgate ${cmd.name()} `));
  });
});

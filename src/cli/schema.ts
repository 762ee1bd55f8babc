/**
 * `rollgate schema`: prints the JSON Schema (draft 2020-12) of a RolloutPlan file on stdout,
 * generated from the plan's zod schema (src/plan/json-schema.ts); the same text as the
 * committed schema/rolloutplan.schema.json. For editors: save it next to your plans and point
 * a `# yaml-language-server: $schema=...` line at it (docs/plan-reference.md, "Editor support").
 */
import type { Command } from 'commander';
import { planJsonSchemaText } from '../plan/json-schema.js';

export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema (draft 2020-12) of RolloutPlan files, for editors: rollgate schema > rolloutplan.schema.json')
    .addHelpText(
      'after',
      [
        '',
        'Then put this first line in a plan (yaml-language-server: VS Code with the Red Hat YAML extension, Neovim, Helix, ...):',
        '  # yaml-language-server: $schema=./rolloutplan.schema.json',
        'The schema checks fields, types, enums, durations and instants; `rollgate validate` also checks rules across fields, PromQL and time zones.',
        '',
        'Exit status: 0, 2 usage.',
      ].join('\n'),
    )
    .action(() => {
      process.stdout.write(planJsonSchemaText());
    });
}

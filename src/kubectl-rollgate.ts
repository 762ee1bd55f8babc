#!/usr/bin/env node
/**
 * `kubectl-rollgate`, the kubectl plugin (package.json "bin"): with it on PATH,
 * `kubectl rollgate status -A`, `kubectl rollgate history NS/NAME`,
 * `kubectl rollgate promote NAME -n NS` run the rollgate CLI in cluster mode
 * (cli/kubectl-plugin.ts says which commands get `--cluster`); everything else runs as
 * `rollgate` runs it (cli/entry.ts): the same commands, output and exit codes, with help
 * and usage lines saying `kubectl rollgate`.
 */
import { kubectlPluginArgs } from './cli/kubectl-plugin.js';
import { runCli } from './cli/entry.js';

await runCli([...process.argv.slice(0, 2), ...kubectlPluginArgs(process.argv.slice(2))], 'kubectl rollgate');

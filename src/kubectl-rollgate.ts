#!/usr/bin/env node
/**
 * `kubectl-rollgate`, the kubectl plugin (package.json "bin"): with it on PATH,
 * `kubectl rollgate status -A`, `kubectl rollgate history NS/NAME`,
 * `kubectl rollgate promote NAME -n NS` run the rollgate CLI in cluster mode
 * (cli/kubectl-plugin.ts says which commands get `--cluster`); everything else is main.ts:
 * the same commands, output and exit codes as `rollgate`.
 */
import { kubectlPluginArgs } from './cli/kubectl-plugin.js';

// main.ts reads process.argv when it is loaded: hand it rollgate's arguments, then load it.
process.argv = [...process.argv.slice(0, 2), ...kubectlPluginArgs(process.argv.slice(2))];
await import('./main.js');

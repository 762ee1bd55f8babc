#!/usr/bin/env node
/**
 * The `rollgate` executable: runs the command line (cli/entry.ts maps errors to exit codes:
 * 2 usage, a command's own status, 1 otherwise; stack traces only with ROLLGATE_DEBUG=1).
 */
import { runCli } from './cli/entry.js';

await runCli(process.argv, 'rollgate');

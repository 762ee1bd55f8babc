#!/usr/bin/env node
/**
 * `npm run harness:secrets`: rollouts with a bearer token file, a secret header, basic auth
 * (password file, a real Prometheus with --web.config.file) and a webhook URL with tokens,
 * through proxies that echo request headers in their errors; every output searched for every
 * secret (src/devtools/secrets-check.ts). Prints each leak and a JSON summary as the last line;
 * exits 1 on any leak.
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { secretsCheck } from '../../dist/devtools/secrets-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const report = await secretsCheck({ mainJs: path.join(root, 'dist/main.js'), log: (l) => console.log(l) });
for (const [name, bytes] of Object.entries(report.outputs)) console.log(`searched ${name} (${bytes} bytes)`);
for (const l of report.leaks) console.log(`LEAK ${l.secret} in ${l.output}: ...${l.context}...`);
console.log(
  JSON.stringify({
    harness: 'secrets',
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    outputs: Object.keys(report.outputs).length,
    bytes: Object.values(report.outputs).reduce((a, b) => a + b, 0),
    secrets: report.secrets.length,
    echoedErrors: report.echoedErrors,
    errorRecords: report.errorRecords,
    webhookPosts: report.webhookPosts,
    ended: report.ended,
    leaks: report.leaks.length,
  }),
);
process.exitCode = report.leaks.length === 0 ? 0 : 1;

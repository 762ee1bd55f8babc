// Prints vitest's JSON results as the plain closing line CI reads: `N passed, N failed`.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.test-results/vitest.json';
let passed = 0;
let failed = 1;
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests ?? 0;
  // Failed test files that never ran a test (e.g. an import error) count as failures too.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  failed = (r.numFailedTests ?? 0) + brokenFiles;
  if (r.numTotalTests === 0) failed = Math.max(failed, 1);
} catch (err) {
  console.error(`cannot read ${file}: ${err.message}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

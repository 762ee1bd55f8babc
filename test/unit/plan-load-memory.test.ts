/**
 * What a loaded plan keeps in memory: `rollgate run` holds one plan per rollout for as long as
 * it runs, so a plan must not keep its file's text alive (the YAML parser's strings are slices
 * of it). Checked in this process's own heap snapshot, where every live string is written out.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getHeapSnapshot } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { loadPlans } from '../../src/plan/load.js';

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');

/** Which of `needles` a live string of this process contains (the snapshot collects garbage first). */
async function heldInHeap(needles: Buffer[]): Promise<boolean[]> {
  const found = needles.map(() => false);
  const overlap = Math.max(...needles.map((n) => n.length));
  let tail = Buffer.alloc(0);
  for await (const chunk of getHeapSnapshot()) {
    const joined = Buffer.concat([tail, chunk as Buffer]);
    needles.forEach((n, i) => (found[i] ||= joined.includes(n)));
    tail = joined.subarray(Math.max(0, joined.length - overlap));
  }
  return found;
}

describe('a loaded plan', () => {
  it("keeps no part of its file's text alive", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-plan-memory-'));
    try {
      // The comment line is in the files' text and nowhere else: the test holds its two halves
      // apart, and the needle in a Buffer (outside the JavaScript heap).
      const tag = randomUUID();
      for (let i = 0; i < 5; i++) {
        writeFileSync(path.join(dir, `p${i}.yaml`), `# loaded from ${tag}\n${BASE.replace('name: shop', `name: shop-${i}`)}`);
      }
      const needle = Buffer.from(`loaded from ${tag}`);
      const loaded = await loadPlans([dir], { envMode: 'lenient', env: {} });
      expect(loaded.plans).toHaveLength(5);
      // The second needle is a string the test holds: the search does find live strings.
      const held = [`held ${tag}`, 'by the test'].join(' ');
      expect(await heldInHeap([needle, Buffer.from(held)])).toEqual([false, true]);
      expect(loaded.plans.map((p) => p.plan.metadata.name)).toEqual(['shop-0', 'shop-1', 'shop-2', 'shop-3', 'shop-4']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

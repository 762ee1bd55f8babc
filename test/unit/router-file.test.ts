import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/support/log.js';
import { FileRouter, fileRouter, renderFileSplit } from '../../src/routers/file.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { createRouter, routerDescriptor, ROUTER_DESCRIPTORS } from '../../src/routers/registry.js';
import { RouterError } from '../../src/core/router.js';
import { planSchema, type Plan } from '../../src/plan/schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-router-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function planWith(traffic: Record<string, unknown>): Plan {
  return { metadata: { name: 'analyzer', namespace: 'learning' }, spec: { traffic } } as unknown as Plan;
}

describe('file router', () => {
  it('writes {"stable":90,"canary":10,"mirror":0}, creating the directory, and returns the split read back', async () => {
    const path = join(dir, 'sub', 'dir', 'split.json');
    const router = new FileRouter(path);
    expect(await router.read()).toBeNull();
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    expect(await readFile(path, 'utf8')).toBe('{"stable":90,"canary":10,"mirror":0}\n');
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
    expect(await readdir(join(dir, 'sub', 'dir'))).toEqual(['split.json']); // no temp file left
  });

  it('removes the temp files of a writer SIGKILLed mid-write, and only those', async () => {
    const path = join(dir, 'split.json');
    // A writer that got as far as its temp file (named as writeFileAtomic names it) and was killed.
    const writer = spawn(
      process.execPath,
      ['-e', `require('fs').writeFileSync(process.argv[1] + '/.split.json.tmp-' + process.pid + '-0a1b2c3d', '{"stable":5'); console.log('written'); setInterval(() => {}, 1000);`, dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((r) => writer.stdout!.once('data', r));
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('exit', r));
    const left = `.split.json.tmp-${writer.pid}-0a1b2c3d`;
    // Not ours to remove: a live writer's fresh temp file, other files' temps, names off our pattern.
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((r) => sleeper.once('spawn', r));
      const keep = [`.split.json.tmp-${sleeper.pid}-deadbeef`, `.other.json.tmp-${writer.pid}-0a1b2c3d`, '.split.json.tmp-notapid', `split.json.tmp-${writer.pid}-0a1b2c3d`];
      for (const k of keep) await writeFile(join(dir, k), 'x');
      expect(await readdir(dir)).toContain(left);
      const router = new FileRouter(path);
      expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
      expect((await readdir(dir)).sort()).toEqual([...keep, 'split.json'].sort());
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('routers of many files in one directory, opened at once, each remove the stale temp files of their own file', async () => {
    // A writer that is gone: our own pid from an earlier incarnation counts as gone.
    const names = Array.from({ length: 300 }, (_, i) => `split-${i}.json`);
    for (const n of names) await writeFile(join(dir, `.${n}.tmp-${process.pid}-0a1b2c3d`), '{"stable":5');
    const routers = names.map((n) => new FileRouter(join(dir, n)));
    const removed = await Promise.all(routers.map((r) => r.sweepStaleTempFiles()));
    expect(removed.map((paths) => paths.length)).toEqual(names.map(() => 1));
    expect(await readdir(dir)).toEqual([]);
    // A later sweep lists the directory again: a temp file left since then is found.
    await writeFile(join(dir, `.late.json.tmp-${process.pid}-0a1b2c3d`), 'x');
    expect(await new FileRouter(join(dir, 'late.json')).sweepStaleTempFiles()).toEqual([join(dir, `.late.json.tmp-${process.pid}-0a1b2c3d`)]);
  });

  it('keeps fractional weights without float noise', async () => {
    const router = new FileRouter(join(dir, 'split.json'));
    expect(renderFileSplit({ weight: 10.1, mirror: 0.5 })).toBe('{"stable":89.9,"canary":10.1,"mirror":0.5}\n');
    expect(renderFileSplit({ weight: 0.3, mirror: 0 })).toBe('{"stable":99.7,"canary":0.3,"mirror":0}\n');
    expect(renderFileSplit({ weight: 33.3333333333, mirror: 0 })).toBe('{"stable":66.666667,"canary":33.333333,"mirror":0}\n');
    expect(await router.apply({ weight: 0.5, mirror: 2.25 })).toEqual({ weight: 0.5, mirror: 2.25 });
  });

  it('rejects a weight outside 0-100 without touching the file', async () => {
    const router = guardSplits(new FileRouter(join(dir, 'split.json')), fileRouter);
    await router.apply({ weight: 5, mirror: 0 });
    await expect(router.apply({ weight: 101, mirror: 0 })).rejects.toThrow(RouterError);
    await expect(router.apply({ weight: Number.NaN, mirror: 0 })).rejects.toThrow(/weight NaN is not a percentage/);
    expect(await router.read()).toEqual({ weight: 5, mirror: 0 });
  });

  it('an unparsable or ill-shaped file is a RouterError naming the path', async () => {
    const path = join(dir, 'split.json');
    const router = new FileRouter(path);
    await writeFile(path, '{"stable":9');
    await expect(router.read()).rejects.toThrow(new RegExp(`^router file \\(${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): not JSON`));
    await writeFile(path, '{"stable":90,"canary":"ten"}');
    await expect(router.read()).rejects.toThrow(/router file \(.*split\.json\): expected .*canary/);
  });

  it('is atomic: a reader in another process never sees a half-written file', async () => {
    const path = join(dir, 'split.json');
    const router = new FileRouter(path);
    await router.apply({ weight: 0, mirror: 0 });
    // A separate process reads in a tight loop while we apply many splits.
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); let n = 0, bad = 0; const end = Date.now() + 60000;
         process.stdin.on('data', () => { console.log(JSON.stringify({ n, bad })); process.exit(0); });
         (function loop() { for (let i = 0; i < 200; i++) { n++; try { const s = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
           if (Math.abs(s.stable + s.canary - 100) > 1e-9) bad++; } catch (e) { bad++; } }
           if (Date.now() < end) setImmediate(loop); })();`,
        path,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let sameProcessReads = 0;
    for (let i = 1; i <= 300; i++) {
      const w = (i * 7.3) % 100;
      const applied = await router.apply({ weight: w, mirror: i % 3 });
      expect(applied.weight).toBeCloseTo(w, 6);
      JSON.parse(await readFile(path, 'utf8'));
      sameProcessReads++;
    }
    const out = await new Promise<string>((res) => {
      let s = '';
      reader.stdout!.on('data', (d: Buffer) => (s += d.toString()));
      reader.on('exit', () => res(s));
      reader.stdin!.write('stop\n');
    });
    const { n, bad } = JSON.parse(out) as { n: number; bad: number };
    expect(sameProcessReads).toBe(300);
    expect(n).toBeGreaterThan(1000);
    expect(bad).toBe(0);
  });
});

describe('router registry', () => {
  it('creates the file router from the plan', async () => {
    const router = createRouter(planWith({ router: 'file', file: { path: join(dir, 'split.json') } }), { log: silentLogger() });
    expect(router.name).toBe('file');
    expect(router.target).toBe(join(dir, 'split.json'));
  });

  it('has a descriptor for every router of the plan format', () => {
    expect(planSchema.shape.spec.shape.traffic.shape.router.options).toEqual(ROUTER_DESCRIPTORS.map((d) => d.name));
  });

  it('refuses a Kubernetes router without a Kubernetes API, saying what is needed', () => {
    const plan = planWith({ router: 'gateway-api', 'gateway-api': { httpRoute: 'r', rule: 0, stableBackend: 's', canaryBackend: 'c' } });
    expect(() => createRouter(plan, { log: silentLogger() })).toThrow(/needs a Kubernetes API/);
  });

  it('knows which routers can mirror, for all seven', () => {
    const expected: Record<Plan['spec']['traffic']['router'], boolean> = {
      file: true,
      nginx: true,
      'gateway-api': true,
      istio: true,
      haproxy: false,
      'ingress-nginx': false,
      smi: false,
    };
    for (const r of planSchema.shape.spec.shape.traffic.shape.router.options) expect(routerDescriptor(r)?.mirrors).toBe(expected[r]);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
// (@types/node is also a dependency of @kubernetes/client-node, so it is not dev-only.)
const DEV_ONLY = ['vitest', 'typescript', 'nock', 'vite', 'kubernetes-models'];
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const steps = readFileSync(path.join(ROOT, 'scripts/docker-steps.sh'), 'utf8');

const temps: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
process.once('exit', () => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('the Dockerfile', () => {
  it('builds in a stage with dev dependencies and ships runtime dependencies only', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/^\$\{NODE_IMAGE\} AS build/);
    expect(stages[0]).toMatch(/^RUN npm ci --no-audit --no-fund$/m);
    expect(stages[0]).toMatch(/^RUN npm run build$/m);
    expect(stages[1]).toMatch(/^RUN npm ci --omit=dev /m);
    expect(stages[1]).toMatch(/^COPY --from=build \/src\/dist \.\/dist$/m);
  });

  it('uses a current Node LTS base, runs as a numeric non-root user, exposes 9464 and runs `controller`', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(22|24)-bookworm-slim$/m);
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(dockerfile);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(dockerfile).toMatch(/^EXPOSE 9464$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node","\/app\/dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["controller"\]$/m);
  });

  it('runs as the uid the Deployment expects', () => {
    const deployment = readFileSync(path.join(ROOT, 'deploy/base/deployment.yaml'), 'utf8');
    const uid = /^USER (\d+)/m.exec(dockerfile)![1];
    expect(deployment).toContain(`runAsUser: ${uid}`);
  });

  it('.dockerignore keeps node_modules, dist, tests and VCS data out of the context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'test', '.git']) expect(ignored).toContain(p);
    for (const p of ['src', 'config', 'dashboard', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) expect(ignored).not.toContain(p);
  });

  it('scripts/docker-steps.sh runs the same npm commands as the Dockerfile', () => {
    expect(steps).toContain('npm ci --no-audit --no-fund');
    expect(steps).toMatch(/npm_ci "\$out\/app" --omit=dev/);
    expect(steps).toContain('npm run build');
    for (const copied of ['tsconfig.json', 'tsconfig.build.json', 'src', 'config', 'dashboard']) expect(dockerfile + steps).toContain(copied);
  });

  it('ships config/, dashboard/ and schema/ next to dist/, in the image and in docker-steps.sh', () => {
    const production = dockerfile.split(/^FROM /m).slice(1)[1]!;
    for (const dir of ['config', 'dashboard', 'schema']) {
      expect(production).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
      expect(steps).toContain(`cp -R "$repo/${dir}" "$out/app/${dir}"`);
    }
    // .dockerignore must let them into the build context.
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['config', 'schema', 'dashboard']) expect(ignored).not.toContain(p);
  });
});

describe('the production install', () => {
  /** Lock entries `npm ci --omit=dev` installs: everything not flagged dev (or dev-optional). */
  function productionPackages(): string[] {
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    return Object.entries(lock.packages)
      .filter(([p, meta]) => p.startsWith('node_modules/') && !meta.dev && !meta.devOptional)
      .map(([p]) => p);
  }

  it('the lock file marks every dev dependency as dev', () => {
    const prod = new Set(productionPackages());
    for (const dep of DEV_ONLY) expect(prod.has(`node_modules/${dep}`), dep).toBe(false);
    for (const dep of ['zod', 'yaml', 'commander', 'pino', 'prom-client', 'axios', 'p-retry', '@kubernetes/client-node']) expect(prod.has(`node_modules/${dep}`), dep).toBe(true);
  });

  it('dist/ runs `--help` with the production dependencies alone (as the image does)', () => {
    expect(existsSync(path.join(ROOT, 'dist/main.js')), 'run `npm run build` first').toBe(true);
    const app = tempDir('rollgate-prod-');
    for (const p of productionPackages()) {
      if (existsSync(path.join(ROOT, p))) cpSync(path.join(ROOT, p), path.join(app, p), { recursive: true, dereference: true });
    }
    cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
    cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
    const installed = readdirSync(path.join(app, 'node_modules'));
    for (const dep of DEV_ONLY) expect(installed).not.toContain(dep);
    const help = execFileSync(process.execPath, [path.join(app, 'dist/main.js'), '--help'], { cwd: app, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production', NODE_PATH: '' } });
    expect(help).toMatch(/^Usage: rollgate/m);
    expect(help).toContain('validate');
  });

  it('scripts/docker-steps.sh produces an app without dev dependencies that answers --help', (ctx) => {
    const out = tempDir('rollgate-image-');
    // --offline: no network in tests; the packages must be in the local npm cache.
    const run = spawnSync('sh', [path.join(ROOT, 'scripts/docker-steps.sh'), '--skip-build', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, NPM_CI_FLAGS: '--offline' },
      timeout: 180_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    if (/only-if-cached|ENOTCACHED/.test(output)) {
      ctx.skip(`the local npm cache does not hold the locked packages, and tests do not use the network: ${output.split('\n').find((l) => /only-if-cached/.test(l)) ?? ''}`);
    }
    if (/can only install packages when your package\.json and package-lock\.json/.test(output)) {
      const missing = [...output.matchAll(/Missing: (\S+) from lock file/g)].map((m) => m[1]);
      expect.fail(
        `npm ci refuses package-lock.json: it is out of sync with package.json (missing ${missing.length} entries: ${missing.slice(0, 3).join(', ')}...). ` +
          '`docker build` fails the same way; regenerate the lock with `npm install --package-lock-only` (needs the registry).',
      );
    }
    expect(run.status, output.slice(-2000)).toBe(0);
    const installed = readdirSync(path.join(out, 'app/node_modules'));
    for (const dep of DEV_ONLY) expect(installed).not.toContain(dep);
    expect(run.stdout.trim().split('\n').at(-1)).toBe(path.join(out, 'app'));
    // The dashboard's page is made from dashboard/ and uPlot's files in the app, as in the image.
    const page = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(path.join(out, 'app/dist/dashboard/page.js')).href)}); process.stdout.write(m.renderPage({ view: 'overview' }))`], {
      cwd: path.join(out, 'app'),
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production', NODE_PATH: '' },
    });
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('uPlot');
    expect(existsSync(path.join(out, 'app/schema/rolloutplan.schema.json'))).toBe(true);
    expect(existsSync(path.join(out, 'app/config/demo/live.yaml'))).toBe(true);
  });
});

/**
 * "A router is one file plus one registry line" (docs/routers.md, "How to add a router"): a
 * fixture router is written here the way the recipe says, added to the registry's list the way
 * the recipe's one line adds it, and then a plan naming it validates (its config block checked
 * with positioned errors, its mirror flag enforced by the mirror check), the CRD schema has its
 * block, and the host-side creation builds it wrapped in the split guard (range check, mirror refusal, rounding, the
 * effective-split check).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadPlanText } from '../../src/plan/load.js';
import { planSchemaFor } from '../../src/plan/schema.js';
import { specOpenApiSchema, structuralProblems } from '../../src/cluster/crd.js';
import { createRouter, routerDescriptor, ROUTER_DESCRIPTORS } from '../../src/routers/registry.js';
import type { RouterDescriptor } from '../../src/routers/descriptor.js';
import { RouterError, type Split, type TrafficRouter } from '../../src/core/router.js';
import { nonEmpty } from '../../src/support/zod-fields.js';
import { silentLogger } from '../../src/support/log.js';

// ---- the router file (recipe step 1): a ledger of splits, one entry per rollout --------------

/** Where the fixture router keeps splits; `rewrite` plays another client editing an entry as it is written. */
class Ledger {
  readonly entries = new Map<string, Split>();
  rewrite: (split: Split) => Split = (split) => split;
}

class LedgerRouter implements TrafficRouter {
  readonly name = 'ledger';
  constructor(
    private readonly ledger: Ledger,
    readonly target: string,
  ) {}

  async apply(split: Split): Promise<Split> {
    this.ledger.entries.set(this.target, this.ledger.rewrite({ ...split }));
    return { ...this.ledger.entries.get(this.target)! };
  }

  async read(): Promise<Split | null> {
    const split = this.ledger.entries.get(this.target);
    return split ? { ...split } : null;
  }
}

const ledger = new Ledger();
const ledgerConfig = z.strictObject({ entry: nonEmpty('a ledger entry name'), book: z.string().default('main') });

const ledgerRouter: RouterDescriptor<'ledger', typeof ledgerConfig> = {
  name: 'ledger',
  config: ledgerConfig,
  mirrors: false,
  needsKube: false,
  // The ledger keeps whole percentages.
  expressible: (split) => ({ weight: Math.round(split.weight), mirror: 0 }),
  create: (cfg, rollout) => new LedgerRouter(ledger, `${cfg.book}/${rollout.namespace}/${cfg.entry}`),
};

// ---- the registry line (recipe step 2) ------------------------------------------------------

const ROUTERS = [...ROUTER_DESCRIPTORS, ledgerRouter] as const;

// ---- a plan naming it ------------------------------------------------------------------------

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const NGINX_BLOCK = `    router: nginx
    nginx:
      configFile: /etc/nginx/split.conf
      stable: 127.0.0.1:8081
      canary: 127.0.0.1:8082
`;

function planText(trafficBlock: string, mirror = 0): string {
  if (!BASE.includes(NGINX_BLOCK) || !BASE.includes('      mirror: 5\n')) throw new Error('the base plan changed');
  return BASE.replace(NGINX_BLOCK, trafficBlock).replace('      mirror: 5\n', `      mirror: ${mirror}\n`);
}

const load = (text: string, routers?: readonly RouterDescriptor[]) =>
  loadPlanText(text, 'ledger.yaml', { envMode: 'strict', env: {}, ...(routers ? { routers } : {}) });

describe('a new router: one file plus one registry line', () => {
  it('a plan naming it validates, its config block with its defaults', () => {
    const result = load(planText('    router: ledger\n    ledger:\n      entry: shop\n'), ROUTERS);
    expect(result.diagnostics).toEqual([]);
    expect(result.plans[0]!.plan.spec.traffic).toEqual({ router: 'ledger', ledger: { entry: 'shop', book: 'main' } });
  });

  it('without the registry line the plan format does not know it', () => {
    const result = load(planText('    router: ledger\n    ledger:\n      entry: shop\n'));
    expect(result.plans).toEqual([]);
    expect(result.diagnostics).toMatchObject([
      { line: 10, col: 13, path: 'spec.traffic.router', severity: 'error', message: 'expected one of file, nginx, haproxy, ingress-nginx, gateway-api, smi, istio, got "ledger"' },
      { line: 11, col: 5, path: 'spec.traffic.ledger', severity: 'error', message: 'unknown field "ledger"; expected one of: router, file, nginx, haproxy, ingress-nginx, gateway-api, smi, istio' },
    ]);
  });

  it('its config block is checked by its own schema, with the line and column of the mistake', () => {
    const result = load(planText('    router: ledger\n    ledger:\n      entry: ""\n      pages: 3\n'), ROUTERS);
    expect(result.plans).toEqual([]);
    expect(result.diagnostics).toMatchObject([
      { line: 12, col: 14, path: 'spec.traffic.ledger.entry', severity: 'error', message: 'expected a ledger entry name, got ""' },
      { line: 13, col: 7, path: 'spec.traffic.ledger.pages', severity: 'error', message: 'unknown field "pages"; expected one of: entry, book' },
    ]);
  });

  it('a missing block is named as for any router', () => {
    const result = load(planText('    router: ledger\n'), ROUTERS);
    expect(result.diagnostics).toMatchObject([{ path: 'spec.traffic.ledger', severity: 'error', message: 'router is ledger but the traffic.ledger block is missing' }]);
  });

  it('its mirror flag is enforced by the mirror check', () => {
    const result = load(planText('    router: ledger\n    ledger:\n      entry: shop\n', 5), ROUTERS);
    expect(result.plans).toEqual([]);
    expect(result.diagnostics).toMatchObject([
      { line: 34, col: 15, path: 'spec.phases[0].mirror', severity: 'error', message: 'the ledger router cannot mirror traffic: expected mirror 0, got 5' },
    ]);
    // The same plan with a router whose descriptor says it mirrors passes the check.
    expect(load(planText('    router: ledger\n    ledger:\n      entry: shop\n', 5), [...ROUTER_DESCRIPTORS, { ...ledgerRouter, mirrors: true }]).diagnostics).toEqual([]);
  });

  it('the CRD schema gains its router name and its block', () => {
    const traffic = specOpenApiSchema(planSchemaFor(ROUTERS).shape.spec).properties!.traffic!;
    expect(traffic.properties!.router!.enum).toEqual(['file', 'nginx', 'haproxy', 'ingress-nginx', 'gateway-api', 'smi', 'istio', 'ledger']);
    expect(traffic.properties!.ledger).toMatchObject({
      type: 'object',
      required: ['entry'],
      properties: { entry: { type: 'string', minLength: 1 }, book: { type: 'string' } },
    });
    expect(structuralProblems(traffic)).toEqual([]);
    expect(specOpenApiSchema().properties!.traffic!.properties!.ledger).toBeUndefined();
  });

  it('the host looks up whether it needs the Kubernetes client', () => {
    expect(routerDescriptor('ledger', ROUTERS)?.needsKube).toBe(false);
    expect(routerDescriptor('ledger')).toBeUndefined();
  });

  describe('the host-side creation builds it wrapped in the split guard', () => {
    const plan = () => load(planText('    router: ledger\n    ledger:\n      entry: shop\n      book: blue\n'), ROUTERS).plans[0]!.plan;

    it('is built from its block and the rollout', async () => {
      const router = createRouter(plan(), { log: silentLogger() }, ROUTERS);
      expect(router.name).toBe('ledger');
      expect(router.target).toBe('blue/default/shop');
      expect(await router.read()).toBeNull();
    });

    it('rounds to the precision of the router and returns what is in effect', async () => {
      const router = createRouter(plan(), { log: silentLogger() }, ROUTERS);
      expect(await router.apply({ weight: 12.4, mirror: 0 })).toEqual({ weight: 12, mirror: 0 });
      expect(ledger.entries.get('blue/default/shop')).toEqual({ weight: 12, mirror: 0 });
      expect(await router.apply({ weight: 99.6, mirror: 0 })).toEqual({ weight: 100, mirror: 0 });
    });

    it('refuses a share outside 0-100 and a mirror it cannot do, touching nothing', async () => {
      const router = createRouter(plan(), { log: silentLogger() }, ROUTERS);
      await router.apply({ weight: 20, mirror: 0 });
      await expect(router.apply({ weight: 101, mirror: 0 })).rejects.toThrow(new RouterError('ledger', 'blue/default/shop', 'weight 101 is not a percentage from 0 to 100'));
      await expect(router.apply({ weight: 10, mirror: Number.NaN })).rejects.toThrow('mirror NaN is not a percentage from 0 to 100');
      await expect(router.apply({ weight: 10, mirror: 5 })).rejects.toThrow('router ledger (blue/default/shop): ledger cannot mirror requests (mirror 5% requested)');
      expect(await router.read()).toEqual({ weight: 20, mirror: 0 });
    });

    it('an effective split other than the one set is a RouterError', async () => {
      const router = createRouter(plan(), { log: silentLogger() }, ROUTERS);
      ledger.rewrite = (split) => ({ ...split, weight: Math.min(split.weight, 50) });
      try {
        expect(await router.apply({ weight: 40, mirror: 0 })).toEqual({ weight: 40, mirror: 0 });
        await expect(router.apply({ weight: 60, mirror: 0 })).rejects.toThrow(
          'router ledger (blue/default/shop): blue/default/shop carries 50%/0% mirror right after rollgate set 60%/0% mirror; another client is changing it',
        );
      } finally {
        ledger.rewrite = (split) => split;
      }
    });
  });
});

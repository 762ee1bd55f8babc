/**
 * `rollgate run`'s controller (on a virtual clock) posts the plan's `notify` webhooks for the
 * decisions they subscribe to, to a real HTTP receiver, with `${VAR}` expanded from the
 * environment; the webhook URL never reaches the journal or the logs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { openStandalone } from '../../src/wiring/compose.js';
import { createLogger } from '../../src/support/log.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';

const T0 = Date.parse('2025-11-03T10:00:00Z');
const SECRET = '/services/T0SECRET/B0SECRET/XXXXSECRETXXXX';

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function receiver() {
  const bodies: Array<{ text: string; record: { decision: string; seq: number } }> = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      bodies.push(JSON.parse(data));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { bodies, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET}` };
}

/** The start of plan `shop`: a file router in `dir` and one critical error-rate metric. */
function shopPlanHead(dir: string): string {
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: shop }
spec:
  revision: "1"
  prometheus: { address: http://127.0.0.1:1 }
  traffic: { router: file, file: { path: ${dir}/split.json } }
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
`;
}

describe('rollgate run: notifications', () => {
  it('posts only the decisions the webhook subscribes to (here the guard rollback, not the start), with the URL from the environment kept out of journal and logs', async () => {
    const hook = await receiver();
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-notify-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const plan = path.join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      `${shopPlanHead(dir)}  guard: { interval: 10s, consecutive: 2 }
  notify:
    - webhook: "\${TEST_SLACK_URL}"
      on: [rollback, complete]
  phases:
    - { name: canary, weight: 10, checkpoints: [5m] }
    - { name: full, weight: 100, checkpoints: [5m] }
`,
    );
    let logs = '';
    const log = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => ((logs += String(c)), cb()) }) as never });
    const breach = T0 + 7 * 60_000;
    const controller = await openStandalone({
      paths: [plan],
      stateDir: path.join(dir, 'state'),
      log,
      listen: null,
      clock: new VirtualClock(T0),
      env: { TEST_SLACK_URL: hook.url },
      providerFor: () => new ScriptedProvider((_q, at) => (at >= breach ? 0.5 : 0.001)),
    });
    cleanup.push(() => controller.close());
    await controller.runUntil(T0 + 60 * 60_000, () => controller.runner('shop')!.state.status === 'rolled-back');
    await controller.close();

    expect(hook.bodies.map((b) => b.record.decision)).toEqual(['rollback']);
    expect(hook.bodies[0]!.text).toMatch(/default\/shop.*rolled back/);
    const journal = readFileSync(path.join(dir, 'state/journal/default/shop.jsonl'), 'utf8');
    expect(journal).not.toContain('T0SECRET');
    expect(logs).not.toContain('T0SECRET');
    expect(logs).toContain('"decision":"rollback"');
  });

  it('a plan removed while a delivery is under way: its queued notifications are still delivered, then its notifier closes', async () => {
    // A receiver that holds its answer to the first request until released.
    const bodies: Array<{ record: { decision: string } }> = [];
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const server: Server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        bodies.push(JSON.parse(data));
        void (bodies.length === 1 ? released : Promise.resolve()).then(() => res.writeHead(200).end('ok'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-notify-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const plans = path.join(dir, 'plans');
    mkdirSync(plans);
    const plan = path.join(plans, 'shop.yaml');
    writeFileSync(
      plan,
      `${shopPlanHead(dir)}  notify:
    - webhook: http://127.0.0.1:${(server.address() as AddressInfo).port}/hook
      on: [pause, resume]
  phases:
    - { name: canary, weight: 10, checkpoints: [5m] }
`,
    );
    const controller = await openStandalone({
      paths: [plans],
      stateDir: path.join(dir, 'state'),
      log: createLogger({ level: 'silent' }),
      listen: null,
      clock: new VirtualClock(T0),
      env: {},
      providerFor: () => new ScriptedProvider(() => 0.001),
    });
    cleanup.push(() => controller.close());
    await controller.runUntil(T0 + 60_000, () => controller.runner('shop')!.state.seq > 0);
    expect((await controller.manual({ rollout: 'shop', action: 'pause', actor: 'alice' })).accepted).toBe(true);
    expect((await controller.manual({ rollout: 'shop', action: 'resume', actor: 'alice' })).accepted).toBe(true);
    await vi.waitFor(() => expect(bodies).toHaveLength(1)); // the pause, held by the receiver; the resume is queued

    rmSync(plan);
    await controller.reload();
    expect(controller.runner('shop')).toBeUndefined();
    release();
    await vi.waitFor(() => expect(bodies.map((b) => b.record.decision)).toEqual(['pause', 'resume']));
  });
});

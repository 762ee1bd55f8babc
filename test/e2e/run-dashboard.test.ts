/**
 * The dashboard of a real `rollgate run` (dist/main.js, the file router, a real Prometheus):
 * on its --listen address beside /metrics, `/api/rollouts` and `/api/rollouts/NAME` show the
 * rollout as its journal says, `/api/events?rollout=NAME` delivers guard evaluations and a
 * live `record` event for a decision taken while the page follows (a pause through the
 * inbox), and `--dashboard off` serves /metrics without the dashboard.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import type { RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
import { planYaml, readJournal, rollgate, startRun, stopRun, useRunEnvironment, waitFor, waitForMark, waitForRecord, workspace } from './run-helpers.js';

const env = useRunEnvironment();

function writePlan(ws: ReturnType<typeof workspace>): void {
  writeFileSync(
    ws.plan,
    planYaml({
      routerFile: ws.routerFile,
      phases: [
        { name: 'canary', weight: 10, checkpoints: '[1s, 10m]' },
        { name: 'full', weight: 100, checkpoints: '[1s]' },
      ],
    }),
  );
}

/** Follows an event stream; `events` fills as they arrive. */
async function follow(url: string) {
  const ctl = new AbortController();
  const res = await fetch(url, { signal: ctl.signal });
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  void (async () => {
    let text = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = text.indexOf('\n\n')) !== -1) {
          const block = text.slice(0, i);
          text = text.slice(i + 2);
          const ev = /^event: (.+)$/m.exec(block);
          const data = /^data: (.+)$/m.exec(block);
          if (ev && data) events.push({ event: ev[1]!, data: JSON.parse(data[1]!) as Record<string, unknown> });
        }
      }
    } catch {
      /* aborted, or the server stopped */
    }
  })();
  return { res, events, stop: () => ctl.abort() };
}

describe('rollgate run: dashboard', () => {
  it('serves the API from the journal and a live record event after a decision', async () => {
    const ws = workspace();
    writePlan(ws);
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const url = await run.url();
    const settled = await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2 of canary', { proc: run });
    await waitForMark(ws.stateDir, 1, { proc: run });

    const list = (await (await fetch(`${url}/api/rollouts`)).json()) as { rollouts: RolloutSummary[] };
    expect(list.rollouts).toHaveLength(1);
    expect(list.rollouts[0]).toMatchObject({
      rollout: 'default/shop',
      status: 'progressing',
      health: 'healthy',
      phase: 'canary',
      phaseIndex: 0,
      phases: 2,
      weight: 10,
      applied: { weight: 10, mirror: 0 },
      guard: { strikes: 0, consecutive: 2 },
      last: { seq: settled.seq, decision: 'continue', at: settled.at, reason: settled.reason },
    });

    const page = (await (await fetch(`${url}/api/rollouts/shop`)).json()) as RolloutPage;
    expect(page.source).toBe('live');
    expect(page.records.map((r) => r.seq)).toEqual(readJournal(ws.stateDir).records.map((r) => r.seq));
    expect(page.records.find((r) => r.seq === settled.seq)?.metrics?.[0]).toMatchObject({ name: 'error-rate', verdict: 'pass' });
    expect(page.phases).toEqual([
      { name: 'canary', weight: 10, mirror: 0, checkpoints: 2, durationSeconds: 600 },
      { name: 'full', weight: 100, mirror: 0, checkpoints: 1, durationSeconds: 1 },
    ]);
    const rolloutHtml = await fetch(`${url}/rollouts/shop`);
    expect(rolloutHtml.status).toBe(200);
    expect(await rolloutHtml.text()).toContain('{"view":"rollout","rollout":"default/shop"}');
    const overview = await fetch(`${url}/`);
    expect(overview.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await overview.text()).toContain('{"view":"overview"}');
    expect((await fetch(`${url}/api/rollouts/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);

    const stream = await follow(`${url}/api/events?rollout=shop`);
    expect(stream.res.status).toBe(200);
    // The guard runs every second: its evaluations arrive, and are kept for the page.
    await waitFor(() => stream.events.some((e) => e.event === 'guard'), { what: 'a guard event' });
    const pause = await rollgate(['pause', 'shop', '--state-dir', ws.stateDir, '--reason', 'look', '--timeout', '20']);
    expect(pause.code, pause.stderr).toBe(0);
    const live = await waitFor(() => stream.events.find((e) => e.event === 'record'), { what: 'a live record event' });
    const paused = readJournal(ws.stateDir).records.find((r) => r.decision === 'pause')!;
    expect(live.data).toEqual({ rollout: 'default/shop', record: paused });
    await waitFor(() => stream.events.find((e) => e.event === 'summary' && e.data.status === 'paused'), { what: 'a summary event saying paused' });
    const after = (await (await fetch(`${url}/api/rollouts/default/shop`)).json()) as RolloutPage;
    expect(after.summary).toMatchObject({ status: 'paused', health: 'paused' });
    expect(after.guard.length).toBeGreaterThan(0);

    expect((await stopRun(run)).code).toBe(0);
    stream.stop();
  });

  it('--dashboard off: /metrics is served, the dashboard is not', async () => {
    const ws = workspace();
    writePlan(ws);
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url, extraArgs: ['--dashboard', 'off'] });
    const url = await run.url();
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/api/rollouts`)).status).toBe(404);
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await stopRun(run)).code).toBe(0);
  });

  it('--dashboard with anything but on or off is a usage error (exit 2)', async () => {
    const ws = workspace();
    writePlan(ws);
    const res = await rollgate(['run', ws.plan, '--state-dir', ws.stateDir, '--dashboard', 'maybe']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--dashboard: expected on or off, got "maybe"');
  });
});

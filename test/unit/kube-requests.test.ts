import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { requestOf, submitKubeRequest, KubeRequestError } from '../../src/cluster/requests.js';
import { kubeClient, rolloutPlan, SERVER, statusError } from './kube-fixtures.js';

const PLAN = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
const withAnnotation = (value: string) => rolloutPlan('analyzer', {}, { annotations: { 'rollgate.dev/request': value } });

describe('manual requests through the rollgate.dev/request annotation', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('a request is {id, action, reason?, actor, at}; anything else says what is wrong', () => {
    expect(requestOf(rolloutPlan('analyzer', {}))).toBeNull();
    const ok = requestOf(withAnnotation('{"id":"r1","action":"pause","actor":"alice","at":"2025-11-03T10:00:00Z"}'));
    expect(ok).toEqual({ ok: true, request: { id: 'r1', action: 'pause', actor: 'alice', at: '2025-11-03T10:00:00Z' } });
    expect(requestOf(withAnnotation('{"id":"r2","action":"explode","actor":"alice","at":"x"}'))).toEqual({
      ok: false,
      id: 'r2',
      error: 'annotation rollgate.dev/request: action: expected one of pause, resume, promote, abort, retry',
    });
    expect(requestOf(withAnnotation('pause please'))).toMatchObject({ ok: false, id: null, error: expect.stringMatching(/^annotation rollgate.dev\/request is not JSON/) });
  });

  it('the CLI writes the annotation with a merge patch, actor = kubeconfig user, and returns the answer with its id', async () => {
    let written: any;
    nock(SERVER)
      .patch(PLAN, (b) => ((written = JSON.parse(b.metadata.annotations['rollgate.dev/request'])), true))
      .matchHeader('content-type', 'application/merge-patch+json')
      .reply(200, (_u) => withAnnotation(JSON.stringify(written)))
      .get(PLAN)
      .reply(200, () => ({ ...rolloutPlan('analyzer', {}), status: { lastRequest: { id: 'someone-else', accepted: true, message: 'x' } } }))
      .get(PLAN)
      .reply(200, () => ({ ...rolloutPlan('analyzer', {}), status: { lastRequest: { id: written.id, accepted: true, message: 'analyzer paused at 10%', seq: 4 } } }));
    const answer = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'pause', reason: 'incident 42' }, { pollMs: 5 });
    expect(written).toMatchObject({ action: 'pause', reason: 'incident 42', actor: 'alice' });
    expect(Date.parse(written.at)).not.toBeNaN();
    expect(answer).toEqual({ id: written.id, accepted: true, message: 'analyzer paused at 10%', seq: 4 });
  });

  it('without an answer in time the request is withdrawn with a JSON patch that tests it is still ours', async () => {
    let text = '';
    let withdrawal: any;
    nock(SERVER)
      .patch(PLAN, (b) => ((text = b.metadata.annotations['rollgate.dev/request']), true))
      .reply(200, () => withAnnotation(text));
    nock(SERVER)
      .persist()
      .get(PLAN)
      .reply(200, () => withAnnotation(text));
    nock(SERVER)
      .patch(PLAN, (b) => ((withdrawal = b), Array.isArray(b)))
      .matchHeader('content-type', 'application/json-patch+json')
      .reply(200, rolloutPlan('analyzer', {}));
    const err = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'abort' }, { timeoutMs: 200, pollMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeRequestError);
    expect((err as Error).message).toMatch(/no answer from the rollgate controller for rolloutplan learning\/analyzer within 0.2 s; the abort request was withdrawn and will not be executed/);
    expect(withdrawal).toEqual([
      { op: 'test', path: '/metadata/annotations/rollgate.dev~1request', value: text },
      { op: 'remove', path: '/metadata/annotations/rollgate.dev~1request' },
    ]);
  });

  it('an unknown RolloutPlan is a clear error', async () => {
    nock(SERVER).patch(PLAN).reply(404, statusError(404, 'NotFound', 'rolloutplans.rollgate.dev "analyzer" not found'));
    await expect(submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'resume' })).rejects.toThrow('rolloutplan learning/analyzer not found (kubectl -n learning get rolloutplans)');
  });
});

describe('rollgate pause NAME --kubeconfig F (cluster mode of the manual commands)', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('goes through the API with the kubeconfig user as actor; --actor is refused there', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { manualCommand } = await import('../../src/cli/manual.js');
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-kc-'));
    const kubeconfig = join(dir, 'config');
    await writeFile(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${SERVER}", insecure-skip-tls-verify: true}}]\nusers: [{name: bob, user: {token: secret-token}}]\ncontexts: [{name: x, context: {cluster: c, user: bob, namespace: learning}}]\ncurrent-context: x\n`,
    );
    let written: any;
    nock(SERVER)
      .patch(PLAN, (b) => ((written = JSON.parse(b.metadata.annotations['rollgate.dev/request'])), true))
      .reply(200, rolloutPlan('analyzer', {}))
      .get(PLAN)
      .reply(200, () => ({ ...rolloutPlan('analyzer', {}), status: { lastRequest: { id: written.id, accepted: true, message: 'analyzer paused at 10%', seq: 9 } } }));
    try {
      expect(await manualCommand('pause', 'analyzer', { stateDir: '/nonexistent', timeout: '5', kubeconfig })).toBe(0);
      expect(written.actor).toBe('bob');
      await expect(manualCommand('pause', 'analyzer', { stateDir: '/nonexistent', timeout: '5', kubeconfig, actor: 'mallory' })).rejects.toThrow(/--actor: in cluster mode the actor is the kubeconfig user/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The lua-mode include of the nginx router (rendering only; nginx itself runs it in
 * test/integration/router-nginx-lua.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { nginxNames } from '../../src/routers/nginx-config.js';
import { basisPoints, controlAnswerSchema, isLuaInclude, renderLuaInclude, splitOf } from '../../src/routers/nginx-lua-config.js';

const input = (over: Partial<Parameters<typeof renderLuaInclude>[0]> = {}) => ({
  rollout: 'check-out',
  names: nginxNames('check-out'),
  stable: ['10.0.0.11:8080'],
  canary: ['10.0.0.21:8080'],
  controlSocket: '/etc/nginx/rollgate/check-out.conf.sock',
  ...over,
});

describe('renderLuaInclude', () => {
  it('names everything after the rollout, as reload mode does, and listens only on the unix socket', () => {
    const { text } = renderLuaInclude(input());
    expect(text).toContain('lua_shared_dict rollgate_check_out 64k;');
    expect(text).toContain('map $request_id $rollgate_check_out_upstream { default rollgate_check_out_stable; }');
    expect(text).toContain('map $request_id $rollgate_check_out_mirror { default ""; }');
    expect(text).toContain('ngx.var.rollgate_check_out_upstream = "rollgate_check_out_canary"');
    expect(text).toContain('listen unix:/etc/nginx/rollgate/check-out.conf.sock;');
    expect(text.match(/^\s*listen /gm)).toHaveLength(1);
    expect(isLuaInclude(text)).toBe(true);
  });

  it('has a generation that changes with the upstreams, which is all the file depends on', () => {
    const a = renderLuaInclude(input());
    expect(renderLuaInclude(input()).text).toBe(a.text);
    expect(a.text).toContain(`# generation ${a.generation}`);
    expect(a.text).toContain(`return 200 "${a.generation}"`);
    expect(renderLuaInclude(input({ canary: ['10.0.0.22:8080'] })).generation).not.toBe(a.generation);
    expect(renderLuaInclude(input({ stable: ['10.0.0.11:8080', '10.0.0.12:8080'] })).generation).not.toBe(a.generation);
  });
});

describe('control answers', () => {
  it('are basis points of 0.01 %', () => {
    expect(basisPoints(33.33)).toBe(3333);
    expect(basisPoints(0.01)).toBe(1);
    expect(splitOf({ generation: '0123456789abcdef', set: true, weight: 3333, mirror: 5 })).toEqual({ weight: 33.33, mirror: 0.05 });
  });

  it('reject anything that is not the endpoint speaking', () => {
    for (const bad of [{}, { generation: 'x', set: true, weight: 1, mirror: 0 }, { generation: '0123456789abcdef', set: true, weight: 10001, mirror: 0 }, { generation: '0123456789abcdef', set: 'yes', weight: 1, mirror: 0 }]) {
      expect(controlAnswerSchema.safeParse(bad).success).toBe(false);
    }
  });
});

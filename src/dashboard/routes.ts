/**
 * The dashboard's HTTP routes, mounted on a controller's HTTP server (observe/server.ts).
 * Read-only: GET and HEAD only (the server answers 405 to anything else); nothing here
 * changes a rollout.
 *
 * - `GET /` the overview page; `GET /rollouts/NAME` a rollout's page (404 page when the
 *   process does not run it). NAME is `namespace/name`, or `name` when unambiguous.
 * - `GET /api/rollouts[?limit=N&continue=TOKEN&q=TEXT]` -> a RolloutList: a page of the
 *   summaries sorted by rollout id, the total matching, the next page's token
 *   (rollout-list.ts); 400 `{ error, parameter }` for a bad parameter.
 * - `GET /api/rollouts/NAME` -> RolloutPage (source `live`); 404 `{ error }` when unknown.
 * - `GET /api/events[?rollout=NAME]` the server-sent events (event-stream.ts); 404 when NAME
 *   is not a rollout the process runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoutes } from '../observe/server.js';
import type { LiveDashboard } from './live.js';
import { escapeHtml, renderPage } from './page.js';
import { parseListQuery, RolloutListError, type ListQuery } from './rollout-list.js';

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

export class DashboardRoutes implements HttpRoutes {
  constructor(private readonly live: LiveDashboard) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    if (path === '/') return send(res, 200, HTML, renderPage({ view: 'overview' }));
    if (path === '/api/rollouts') {
      let query: ListQuery;
      try {
        query = parseListQuery(url.searchParams);
      } catch (err) {
        if (!(err instanceof RolloutListError)) throw err;
        return send(res, 400, JSON_TYPE, JSON.stringify({ error: err.message, parameter: err.parameter }));
      }
      return send(res, 200, JSON_TYPE, JSON.stringify(this.live.list(query)));
    }
    if (path === '/api/events') {
      const name = url.searchParams.get('rollout');
      const id = name === null ? null : this.live.resolve(name);
      if (name !== null && id === null) return send(res, 404, JSON_TYPE, unknown(name));
      this.live.streams.open(req, res, id);
      return true;
    }
    const rolloutPath = /^\/rollouts\/(.+)$/.exec(path);
    if (rolloutPath) {
      const name = decode(rolloutPath[1]!);
      const id = name === null ? null : this.live.resolve(name);
      if (id === null) return send(res, 404, HTML, notFoundHtml(name ?? rolloutPath[1]!));
      return send(res, 200, HTML, renderPage({ view: 'rollout', rollout: id }));
    }
    const apiPath = /^\/api\/rollouts\/(.+)$/.exec(path);
    if (apiPath) {
      const name = decode(apiPath[1]!);
      const id = name === null ? null : this.live.resolve(name);
      const page = id === null ? null : await this.live.page(id);
      if (!page) return send(res, 404, JSON_TYPE, unknown(name ?? apiPath[1]!));
      return send(res, 200, JSON_TYPE, JSON.stringify(page));
    }
    return false;
  }

  close(): void {
    this.live.close();
  }
}

function unknown(name: string): string {
  return JSON.stringify({ error: `unknown rollout ${name}: this controller does not run it` });
}

/** `%2F` and friends decoded; null for a malformed escape. */
function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): true {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
  return true;
}

/** The 404 page of a rollout this process does not run. */
function notFoundHtml(name: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rollgate: unknown rollout</title></head><body><h1>Unknown rollout ${escapeHtml(name)}</h1><p>This controller does not run it. <a href="/">All rollouts</a></p></body></html>\n`;
}

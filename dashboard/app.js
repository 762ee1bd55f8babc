// @ts-check
/*
 * rollgate's dashboard: the overview of every rollout and the rollout page (live, or a
 * report). Plain browser JavaScript, no build step; src/dashboard/page.ts inlines it (with
 * uPlot) into one HTML document. It renders only from the shapes of src/dashboard/view.ts:
 * fetched from /api/rollouts (one page, filtered by the server) and /api/rollouts/NAME and kept current by the server-sent
 * events of /api/events, or, in a report, embedded in <script id="rollgate-data">.
 * All text reaches the page through textContent, never as HTML.
 */

/** @typedef {import('../src/dashboard/view.js').RolloutSummary} RolloutSummary */
/** @typedef {import('../src/dashboard/view.js').RolloutList} RolloutList */
/** @typedef {import('../src/dashboard/view.js').RolloutPage} RolloutPage */
/** @typedef {import('../src/dashboard/view.js').GuardPoint} GuardPoint */
/** @typedef {import('../src/dashboard/view.js').MetricRange} MetricRange */
/** @typedef {import('../src/core/record.js').DecisionRecord} DecisionRecord */
/** @typedef {import('../src/core/record.js').MetricResult} MetricResult */
/** @typedef {{ view: 'overview' } | { view: 'rollout', rollout: string } | { view: 'report' }} PageConfig */

(() => {
  'use strict';

  /** Rows the overview draws at most: the page it loads from /api/rollouts; the rest are counted ("N more"). */
  const MAX_ROWS = 300;
  /** What a live rollout page keeps at most (oldest dropped first). */
  const MAX_RECORDS = 5000;
  const MAX_GUARD_POINTS = 2000;
  /** Live updates are drawn at most this often. */
  const RENDER_EVERY_MS = 250;
  /** The overview asks the server for its filter's matches once typing pauses this long. */
  const FILTER_DELAY_MS = 200;
  /** An overview that shows a part of the rollouts loads its page again at most this often when others change. */
  const RELOAD_EVERY_MS = 5000;

  // ---------------------------------------------------------------- DOM helpers

  /**
   * An element with properties (className, href, ...; `data-*`/`aria-*` as attributes) and
   * children (strings become text nodes).
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | number | boolean | undefined> | null} [props]
   * @param {...(Node | string | null | undefined | false)} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props ?? {})) {
      if (v === undefined || v === false) continue;
      if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for' || k === 'scope') e.setAttribute(k, String(v));
      else /** @type {any} */ (e)[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  /**
   * Replaces the children of `box` (null, undefined and false are left out).
   * @param {HTMLElement} box
   * @param {...(Node | string | null | undefined | false)} children
   */
  function put(box, ...children) {
    box.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
  }

  /** @param {string} id */
  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error(`the page has no #${id}`);
    return JSON.parse(node.textContent ?? 'null');
  }

  /** `/rollouts/NAME` and `/api/rollouts/NAME` paths; a name may hold `/` (namespace/name). */
  /** @param {string} name */
  const namePath = (name) => name.split('/').map(encodeURIComponent).join('/');

  // ---------------------------------------------------------------- times

  /** @param {number} ms A duration, shown without sub-second noise: 4m10s, 2h05m, 3d04h. */
  function duration(ms) {
    let s = Math.round(Math.abs(ms) / 1000);
    if (s < 60) return `${s}s`;
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
    if (d) return `${d}d${two(h)}h`;
    if (h) return `${h}h${two(m)}m`;
    return `${m}m${two(s)}s`;
  }

  /** @type {Map<string, Intl.DateTimeFormat>} */
  const formats = new Map();
  /**
   * `2026-12-02 09:00:05 Europe/Berlin`: an instant in `timeZone` (UTC when null).
   * @param {string | number} at
   * @param {string | null} timeZone
   */
  function absolute(at, timeZone) {
    const tz = timeZone ?? 'UTC';
    let f = formats.get(tz);
    if (!f) {
      f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
      formats.set(tz, f);
    }
    /** @type {Record<string, string>} */
    const p = {};
    for (const part of f.formatToParts(typeof at === 'number' ? at : Date.parse(at))) p[part.type] = part.value;
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${tz}`;
  }

  /**
   * A time axis label in 24-hour time: `14:05` (`14:05:30` for ticks under a minute apart),
   * with the date under the first tick and under the first tick of each new day; `12-02` for
   * ticks a day or more apart.
   * @param {number} at epoch ms
   * @param {number | null} prev the previous tick, epoch ms
   * @param {number} incr the ticks' spacing, seconds
   * @param {string} timeZone
   */
  function tickText(at, prev, incr, timeZone) {
    const [date, time] = /** @type {[string, string]} */ (absolute(at, timeZone).split(' '));
    const day = date.slice(5);
    if (incr >= 86400) return day;
    const hm = incr < 60 ? time : time.slice(0, 5);
    return prev === null || absolute(prev, timeZone).split(' ')[0] !== date ? `${hm}\n${day}` : hm;
  }

  /**
   * Relative text of an instant: `4m10s ago` / `in 4m10s`, or for a due action
   * (`due`) `in 4m10s` / `12s overdue`.
   * @param {number} at
   * @param {number} now
   * @param {'ago' | 'due'} mode
   */
  function relative(at, now, mode) {
    const d = at - now;
    if (Math.abs(d) < 1000) return 'now';
    if (d > 0) return `in ${duration(d)}`;
    return mode === 'due' ? `${duration(d)} overdue` : `${duration(d)} ago`;
  }

  /**
   * A relative time that the page's one ticker keeps current (no per-row timers).
   * @param {string} at
   * @param {'ago' | 'due'} mode
   * @param {string | null} timeZone
   */
  function timeSpan(at, mode, timeZone) {
    const ms = Date.parse(at);
    const s = el('span', { 'data-at': String(ms), 'data-mode': mode, title: absolute(ms, timeZone) }, relative(ms, now(), mode));
    if (mode === 'due' && ms < now()) s.className = 'overdue';
    return s;
  }

  /** "Now": the wall clock live, the generation instant in a report (a snapshot). */
  let now = () => Date.now();

  function tick() {
    const t = now();
    for (const node of document.querySelectorAll('[data-at]')) {
      const at = Number(node.getAttribute('data-at'));
      const mode = node.getAttribute('data-mode') === 'due' ? 'due' : 'ago';
      node.textContent = relative(at, t, mode);
      if (mode === 'due') node.className = at < t ? 'overdue' : '';
    }
  }

  // ---------------------------------------------------------------- shared texts

  /** @param {number} weight @param {number} mirror */
  const splitText = (weight, mirror) => (mirror ? `${weight}% + mirror ${mirror}%` : `${weight}%`);

  /** @param {RolloutSummary} s */
  const healthMark = (s) => el('span', { className: `health h-${s.health}`, title: `health: ${s.health}` }, s.status);

  /** @param {RolloutSummary} s */
  const phaseText = (s) => `${s.phase || '-'} (${Math.min(s.phaseIndex + 1, s.phases)}/${s.phases})`;

  /** @param {RolloutSummary['guard']} g */
  const guardText = (g) => (g ? `${g.strikes}/${g.consecutive} strikes` : 'no guard');

  /** @param {number | null | undefined} v */
  function num(v) {
    if (v === null || v === undefined) return 'no data';
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }

  /** @param {MetricResult} m */
  function thresholdsText(m) {
    /** @type {string[]} */
    const t = [];
    if (m.min !== undefined) t.push(`min ${num(m.min)}`);
    if (m.max !== undefined) t.push(`max ${num(m.max)}`);
    if (m.bound !== undefined) t.push(`bound ${num(m.bound)}`);
    if (m.rollbackBelow !== undefined) t.push(`rollback below ${num(m.rollbackBelow)}`);
    if (m.rollbackAbove !== undefined) t.push(`rollback above ${num(m.rollbackAbove)}`);
    if (m.threshold !== undefined && m.logE !== undefined) t.push(`e ${num(m.e)} of ${num(m.threshold)}`);
    return t.join(', ');
  }

  /** @param {MetricResult} m */
  function metricLine(m) {
    const t = thresholdsText(m);
    return `${m.name} = ${num(m.value)}${t ? ` (${t})` : ''}: ${m.verdict}${m.reason ? `, ${m.reason}` : ''}`;
  }

  /** @param {DecisionRecord['decision']} d */
  function decisionClass(d) {
    if (d === 'rollback' || d === 'abort') return 'h-failing';
    if (d === 'hold' || d === 'pause' || d === 'wait') return 'h-warning';
    if (d === 'complete') return 'h-complete';
    return '';
  }

  // ---------------------------------------------------------------- frame

  const app = /** @type {HTMLElement} */ (document.getElementById('app'));
  const conn = el('span', { className: 'conn', role: 'status', 'aria-live': 'polite' });
  const main = el('main');

  /** @param {boolean} live */
  function frame(live) {
    const bar = el('header', { className: 'topbar' }, el('span', { className: 'brand' }, 'rollgate'));
    if (live) bar.append(el('nav', { 'aria-label': 'main' }, el('a', { href: '/' }, 'All rollouts')));
    bar.append(conn);
    app.replaceChildren(bar, main);
  }

  /** @param {'on' | 'off' | ''} state @param {string} text */
  function setConn(state, text) {
    conn.className = `conn ${state}`;
    conn.textContent = text;
  }

  /** @param {string} text @param {boolean} [error] */
  const banner = (text, error = false) => el('div', { className: error ? 'banner error' : 'banner', role: 'alert' }, text);

  /** Calls `draw` at most every RENDER_EVERY_MS, however many updates arrive. */
  /** @param {() => void} draw */
  function throttled(draw) {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      setTimeout(() => {
        queued = false;
        draw();
      }, RENDER_EVERY_MS);
    };
  }

  /**
   * The live feed: `/api/events`, and a fresh snapshot from `load` on every (re)connect;
   * events that arrive while the snapshot loads are applied after it.
   * @param {string} events the event stream's URL
   * @param {() => Promise<void>} load
   * @param {Record<string, (data: any) => void>} handlers
   */
  function follow(events, load, handlers) {
    const es = new EventSource(events);
    let loading = false;
    /** @type {Array<() => void>} */
    let pending = [];
    for (const [name, handle] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => {
        const data = JSON.parse(/** @type {MessageEvent} */ (ev).data);
        if (loading) pending.push(() => handle(data));
        else handle(data);
      });
    }
    const reload = async () => {
      loading = true;
      pending = [];
      try {
        await load();
      } finally {
        loading = false;
        for (const p of pending) p();
        pending = [];
      }
    };
    es.addEventListener('open', () => {
      setConn('on', 'live');
      reload().catch(showError);
    });
    es.addEventListener('error', () => setConn('off', es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting'));
  }

  /** @param {unknown} err */
  function showError(err) {
    main.prepend(banner(err instanceof Error ? err.message : String(err), true));
  }

  /** @param {string} path */
  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).trim()}`);
    return res.json();
  }

  // ---------------------------------------------------------------- overview

  const HEALTH_ORDER = ['failing', 'warning', 'paused', 'healthy', 'complete'];

  function overview() {
    frame(true);
    document.title = 'rollgate: rollouts';
    /** The rollouts of the page loaded (the first MAX_ROWS matches, failing first: order=health), kept current by the events. */
    /** @type {Map<string, RolloutSummary>} */
    const rollouts = new Map();
    /** How many rollouts match the filter (the server's count), and whether the page holds them all. */
    let total = 0;
    let complete = true;
    /** The words the page loaded was filtered by. */
    /** @type {string[]} */
    let loadedWords = [];
    const filter = el('input', { type: 'search', id: 'filter', placeholder: 'name, status, phase, health...', autocomplete: 'off', maxLength: 200 });
    const counts = el('span', { className: 'counts', role: 'status' });
    const tbody = el('tbody');
    const more = el('div', { className: 'more' });
    const table = el(
      'table',
      { 'aria-label': 'rollouts' },
      el('thead', null, el('tr', null, ...['Rollout', 'Status', 'Phase', 'Split', 'Waiting for', 'Guard', 'Last decision', 'Next'].map((h) => el('th', { scope: 'col' }, h)))),
      tbody,
    );
    main.replaceChildren(
      el('h1', null, 'Rollouts'),
      el('div', { className: 'toolbar' }, el('label', { for: 'filter' }, 'Filter'), filter, counts),
      el('div', { className: 'tablewrap' }, table),
      more,
    );

    /** @param {string} text */
    const wordsOf = (text) => text.toLowerCase().split(/\s+/).filter(Boolean);
    /** What the filter matches, as the server matches it (src/dashboard/rollout-list.ts). @param {RolloutSummary} s */
    const haystack = (s) => `${s.rollout} ${s.revision} ${s.status} ${s.phase} ${s.waitingFor ?? ''} ${s.health}`.toLowerCase();
    /** @param {RolloutSummary} s */
    const matches = (s) => loadedWords.every((w) => haystack(s).includes(w));

    function draw() {
      const shown = [...rollouts.values()];
      shown.sort((a, b) => HEALTH_ORDER.indexOf(a.health) - HEALTH_ORDER.indexOf(b.health) || (a.rollout < b.rollout ? -1 : a.rollout > b.rollout ? 1 : 0));
      /** @type {Record<string, number>} */
      const byHealth = {};
      for (const s of shown) byHealth[s.health] = (byHealth[s.health] ?? 0) + 1;
      // The health counts only when the page holds every match; a part of them would mislead.
      counts.textContent =
        (loadedWords.length ? `${total} match` : `${total} rollout${total === 1 ? '' : 's'}`) +
        (complete ? HEALTH_ORDER.filter((h) => byHealth[h]).map((h) => `, ${byHealth[h]} ${h}`).join('') : '');
      tbody.replaceChildren(...shown.slice(0, MAX_ROWS).map(row));
      if (shown.length === 0) tbody.replaceChildren(el('tr', null, el('td', { colSpan: 8, className: 'muted' }, loadedWords.length ? 'No rollout matches.' : 'No rollouts yet.')));
      const rest = total - Math.min(shown.length, MAX_ROWS);
      more.textContent = rest > 0 ? `${rest} more - filter to narrow` : '';
    }
    const redraw = throttled(draw);

    /** Loads the first page of the filter's matches; only the latest load is kept. */
    let loads = 0;
    async function load() {
      const mine = ++loads;
      const words = wordsOf(filter.value);
      const q = words.length ? `&q=${encodeURIComponent(words.join(' '))}` : '';
      const list = /** @type {RolloutList} */ (await getJson(`/api/rollouts?limit=${MAX_ROWS}&order=health${q}`));
      if (mine !== loads) return;
      loadedWords = words;
      rollouts.clear();
      for (const s of list.rollouts) rollouts.set(s.rollout, s);
      total = list.total;
      complete = list.continue === null;
      draw();
    }
    /** A page that holds only some matches is loaded again (at most every RELOAD_EVERY_MS) when rollouts it does not hold change. */
    let reloadQueued = false;
    function reloadSoon() {
      if (reloadQueued) return;
      reloadQueued = true;
      setTimeout(() => {
        reloadQueued = false;
        load().catch(showError);
      }, RELOAD_EVERY_MS);
    }
    /** The filter asks the server, once typing pauses. */
    let typing = /** @type {ReturnType<typeof setTimeout> | null} */ (null);
    filter.addEventListener('input', () => {
      if (typing) clearTimeout(typing);
      typing = setTimeout(() => {
        typing = null;
        load().catch(showError);
      }, FILTER_DELAY_MS);
    });

    follow('/api/events', load, {
      summary: (/** @type {RolloutSummary} */ s) => {
        if (rollouts.has(s.rollout)) {
          if (matches(s)) rollouts.set(s.rollout, s);
          else {
            rollouts.delete(s.rollout);
            total--;
            if (!complete) reloadSoon();
          }
        } else if (!complete) {
          // A rollout past this page, or a new one: the server knows where it goes.
          reloadSoon();
          return;
        } else if (matches(s)) {
          rollouts.set(s.rollout, s);
          total++;
          if (rollouts.size > MAX_ROWS) reloadSoon();
        } else return;
        redraw();
      },
      removed: (/** @type {{ rollout: string }} */ d) => {
        if (rollouts.delete(d.rollout)) {
          total--;
          redraw();
        }
        if (!complete) reloadSoon();
      },
    });
    setInterval(tick, 1000);
  }

  /** @param {RolloutSummary} s */
  function row(s) {
    const tz = s.timeZone;
    const applied = s.applied && (s.applied.weight !== s.weight || s.applied.mirror !== s.mirror) ? el('span', { className: 'sub' }, `router: ${splitText(s.applied.weight, s.applied.mirror)}`) : null;
    return el(
      'tr',
      { className: `row-${s.health}` },
      el('td', null, el('a', { href: `/rollouts/${namePath(s.rollout)}` }, s.rollout), el('span', { className: 'sub' }, s.revision)),
      el('td', null, healthMark(s)),
      el('td', { className: 'nowrap' }, phaseText(s)),
      el('td', { className: 'num' }, splitText(s.weight, s.mirror), applied),
      el('td', null, s.waitingFor ?? ''),
      el('td', { className: 'nowrap' }, s.guard ? `${s.guard.strikes}/${s.guard.consecutive}` : ''),
      el(
        'td',
        { className: 'reason' },
        s.last ? el('span', { className: decisionClass(s.last.decision) }, `${s.last.decision} `) : '',
        s.last ? timeSpan(s.last.at, 'ago', tz) : '',
        s.last ? el('span', { className: 'sub' }, s.last.reason) : '',
      ),
      el('td', null, s.next ? el('span', { className: 'nowrap' }, timeSpan(s.next.at, 'due', tz)) : '', s.next ? el('span', { className: 'sub' }, s.next.what) : ''),
    );
  }

  // ---------------------------------------------------------------- rollout page

  /**
   * @param {RolloutPage | null} initial a report's data; null: live, fetched
   * @param {string} name
   */
  function rolloutPage(initial, name) {
    const live = initial === null;
    frame(live);
    /** @type {RolloutPage | null} */
    let page = initial;
    let removed = false;
    const head = el('section', { 'aria-label': 'summary' });
    const timeline = el('section', { 'aria-label': 'timeline' });
    const charts = el('section', { 'aria-label': 'metrics' });
    const decisions = el('section', { 'aria-label': 'decisions' });
    main.replaceChildren(head, timeline, charts, decisions);
    const plots = new Plots();
    /** The records the decision table shows (it is drawn again only when they change). */
    let tabled = '';

    function draw() {
      if (!page) return;
      document.title = `rollgate: ${page.summary.rollout}`;
      drawHead(head, page, removed);
      drawTimeline(timeline, page, plots);
      drawCharts(charts, page, plots);
      const last = page.records[page.records.length - 1];
      const key = `${page.generatedAt} ${page.records.length} ${last?.seq ?? 0} ${page.recordsOmitted}`;
      if (key !== tabled) {
        drawDecisions(decisions, page);
        tabled = key;
      }
    }

    if (!live) {
      const generated = Date.parse(/** @type {RolloutPage} */ (initial).generatedAt);
      now = () => generated;
      setConn('', `report generated ${absolute(generated, /** @type {RolloutPage} */ (initial).summary.timeZone)}`);
      draw();
      addEventListener('resize', throttled(() => plots.resize()));
      return;
    }
    const redraw = throttled(draw);
    follow(
      `/api/events?rollout=${encodeURIComponent(name)}`,
      async () => {
        const loaded = /** @type {RolloutPage} */ (await getJson(`/api/rollouts/${namePath(name)}`));
        page = loaded;
        removed = false;
        draw();
      },
      {
        summary: (/** @type {RolloutSummary} */ s) => {
          if (!page || s.rollout !== name) return;
          page.summary = s;
          redraw();
        },
        record: (/** @type {{ rollout: string, record: DecisionRecord }} */ d) => {
          if (!page || d.rollout !== name) return;
          const records = page.records;
          const last = records[records.length - 1];
          if (last && d.record.seq <= last.seq) return;
          records.push(d.record);
          if (records.length > MAX_RECORDS) page.recordsOmitted += records.splice(0, records.length - MAX_RECORDS).length;
          redraw();
        },
        guard: (/** @type {{ rollout: string, point: GuardPoint }} */ d) => {
          if (!page || d.rollout !== name) return;
          page.guard.push(d.point);
          if (page.guard.length > MAX_GUARD_POINTS) page.guard.splice(0, page.guard.length - MAX_GUARD_POINTS);
          redraw();
        },
        removed: (/** @type {{ rollout: string }} */ d) => {
          if (d.rollout !== name) return;
          removed = true;
          redraw();
        },
      },
    );
    setInterval(tick, 1000);
    addEventListener('resize', throttled(() => plots.resize()));
  }

  /**
   * @param {HTMLElement} box
   * @param {RolloutPage} page
   * @param {boolean} removed
   */
  function drawHead(box, page, removed) {
    const s = page.summary;
    const tz = s.timeZone;
    /** @param {string} k @param {...(Node | string | null)} v */
    const fact = (k, ...v) => el('div', { className: 'fact' }, el('div', { className: 'k' }, k), el('div', { className: 'v' }, ...v));
    /** @param {string} k @param {...(Node | string | null)} v */
    const wideFact = (k, ...v) => el('div', { className: 'fact wide' }, el('div', { className: 'k' }, k), el('div', { className: 'v' }, ...v));
    const applied = s.applied ? el('span', { className: 'sub' }, `router confirmed ${splitText(s.applied.weight, s.applied.mirror)} `, timeSpan(s.applied.at, 'ago', tz)) : el('span', { className: 'sub' }, 'not confirmed by a router yet');
    put(
      box,
      el('h1', null, s.rollout),
      removed ? banner('This rollout is no longer in the controller (its plan was removed).') : null,
      page.source === 'report' ? el('p', { className: 'muted' }, `Report of revision ${s.revision}, as of ${absolute(page.generatedAt, tz)}${tz && tz !== 'UTC' ? ` (${absolute(page.generatedAt, 'UTC')})` : ''}.`) : null,
      el(
        'div',
        { className: 'facts' },
        fact('Status', healthMark(s)),
        fact('Revision', s.revision),
        fact('Phase', phaseText(s)),
        fact('Split', splitText(s.weight, s.mirror), applied),
        fact('Waiting for', s.waitingFor ?? 'nothing'),
        fact('Guard', guardText(s.guard)),
        fact('Next', ...(s.next ? [s.next.what, ' ', timeSpan(s.next.at, 'due', tz), el('span', { className: 'sub' }, absolute(s.next.at, tz))] : ['nothing scheduled'])),
        wideFact('Last decision', ...(s.last ? [el('span', { className: decisionClass(s.last.decision) }, `#${s.last.seq} ${s.last.decision} `), timeSpan(s.last.at, 'ago', tz), el('span', { className: 'sub' }, s.last.reason)] : ['none yet'])),
        fact('Time zone', tz ?? 'UTC'),
      ),
    );
  }

  /**
   * The planned phases (done, current, to come) and the split over time.
   * @param {HTMLElement} box
   * @param {RolloutPage} page
   * @param {Plots} plots
   */
  function drawTimeline(box, page, plots) {
    const s = page.summary;
    const finished = s.status === 'complete';
    const list = el(
      'ol',
      { className: 'phases', 'aria-label': 'planned phases' },
      ...page.phases.map((p, i) => {
        const state = finished || i < s.phaseIndex ? 'done' : i === s.phaseIndex ? 'current' : 'todo';
        const when = p.durationSeconds === null ? 'no checkpoints' : `${p.checkpoints} checkpoint${p.checkpoints === 1 ? '' : 's'} over ${duration(p.durationSeconds * 1000)}`;
        return el(
          'li',
          { className: `phase ${state}`, 'aria-current': state === 'current' ? 'step' : undefined },
          el('div', { className: 'name' }, `${i + 1}. ${p.name}`),
          el('div', null, splitText(p.weight, p.mirror)),
          el('div', { className: 'sub' }, state === 'current' ? `current; ${when}` : when),
        );
      }),
    );
    if (!box.firstChild) {
      box.append(el('h2', null, 'Phases and split'), list, el('div', { className: 'chart' }, el('div', { className: 'plot', id: 'split-chart' })));
    } else box.replaceChild(list, /** @type {ChildNode} */ (box.querySelector('ol.phases')));
    const chartBox = /** @type {HTMLElement} */ (box.querySelector('#split-chart'));
    const records = page.records;
    if (records.length === 0) {
      plots.drop('split');
      chartBox.replaceChildren(el('p', { className: 'muted' }, 'No decisions yet.'));
      return;
    }
    const xs = records.map((r) => Date.parse(r.at) / 1000);
    const weight = records.map((r) => r.weight.to);
    const mirror = records.map((r) => r.mirror.to);
    // The first record moves from its `from` split; the last split of a rollout that is not
    // over holds until now.
    xs.unshift(xs[0] - 1);
    weight.unshift(records[0].weight.from);
    mirror.unshift(records[0].mirror.from);
    const end = now() / 1000;
    if (s.status !== 'complete' && s.status !== 'rolled-back' && end > xs[xs.length - 1]) {
      xs.push(end);
      weight.push(weight[weight.length - 1]);
      mirror.push(mirror[mirror.length - 1]);
    }
    const stepped = uPlot.paths.stepped?.({ align: 1 });
    /** @type {uPlot.Series[]} */
    const series = [{ label: 'canary weight %', stroke: '#0969da', fill: 'rgba(9,105,218,0.08)', width: 2, paths: stepped, points: { show: false } }];
    /** @type {(number | null)[][]} */
    const ys = [weight];
    if (mirror.some((m) => m > 0)) {
      series.push({ label: 'mirror %', stroke: '#8250df', width: 1.5, dash: [5, 3], paths: stepped, points: { show: false } });
      ys.push(mirror);
    }
    plots.show('split', chartBox, 'Split over time', null, series, aligned([xs, ...ys]), s.timeZone, { range: [0, 100] });
  }

  /**
   * One entry of a metric's chart: its value at a checkpoint or a guard evaluation.
   * @typedef {{ t: number, source: 'checkpoint' | 'guard', m: MetricResult }} Point
   */

  /**
   * Every metric's points, from the records' checkpoint (and guard rollback) judgements and
   * the guard evaluations, oldest first.
   * @param {RolloutPage} page
   */
  function metricPoints(page) {
    /** @type {Map<string, Point[]>} */
    const byMetric = new Map();
    /** @param {number} t @param {'checkpoint' | 'guard'} source @param {MetricResult} m */
    const add = (t, source, m) => {
      let list = byMetric.get(m.name);
      if (!list) byMetric.set(m.name, (list = []));
      if (!list.some((p) => p.t === t && p.source === source)) list.push({ t, source, m });
    };
    for (const r of page.records) for (const m of r.metrics ?? []) add(Date.parse(r.at) / 1000, r.kind === 'guard' ? 'guard' : 'checkpoint', m);
    for (const g of page.guard) for (const m of g.metrics) add(Date.parse(g.at) / 1000, 'guard', m);
    for (const range of page.ranges) if (!byMetric.has(range.metric)) byMetric.set(range.metric, []);
    for (const list of byMetric.values()) list.sort((a, b) => a.t - b.t);
    return byMetric;
  }

  /**
   * uPlot's data: the x values, then one array per series (null: no value there, a break in
   * a line without spanGaps; undefined: no point there, the line goes on).
   * @param {(number | null | undefined)[][]} columns
   * @returns {uPlot.AlignedData}
   */
  const aligned = (columns) => /** @type {uPlot.AlignedData} */ (/** @type {unknown} */ (columns));

  /** The threshold lines a chart draws, each from the MetricResults that carry it. */
  const THRESHOLDS = /** @type {const} */ ([
    ['max', 'max', '#cf222e', [6, 4]],
    ['min', 'min', '#cf222e', [6, 4]],
    ['bound', 'bound', '#bc4c00', [6, 4]],
    ['rollbackAbove', 'rollback above', '#82071e', [2, 3]],
    ['rollbackBelow', 'rollback below', '#82071e', [2, 3]],
  ]);

  /**
   * @param {HTMLElement} box
   * @param {RolloutPage} page
   * @param {Plots} plots
   */
  function drawCharts(box, page, plots) {
    const tz = page.summary.timeZone;
    const points = metricPoints(page);
    if (!box.firstChild) box.append(el('h2', null, 'Metrics'), el('div', { className: 'note' }), el('div', { className: 'charts' }));
    const note = /** @type {HTMLElement} */ (box.querySelector('.note'));
    const grid = /** @type {HTMLElement} */ (box.querySelector('.charts'));
    put(
      note,
      points.size === 0 ? el('p', { className: 'muted' }, 'No metric judged yet.') : '',
      page.rangesNote ? el('p', { className: 'muted' }, `Prometheus ranges: ${page.rangesNote}`) : '',
    );
    /** @type {Set<string>} */
    const keep = new Set();
    for (const [name, list] of points) {
      const range = page.ranges.find((r) => r.metric === name) ?? null;
      const id = `metric:${name}`;
      keep.add(id);
      const card = chartCard(grid, id);
      const query = range?.query ?? list[list.length - 1]?.m.query ?? '';
      const { series, data } = metricChart(list, range);
      plots.show(id, card.plot, name, query, series, data, tz);
      card.values.replaceChildren(valuesTable(list, tz));
      // The range's points with a value (null: Prometheus had none at that step).
      const rangePoints = range ? range.points.filter(([, v]) => v !== null).length : 0;
      card.summary.textContent = `Values (${list.length} judgement${list.length === 1 ? '' : 's'}${range ? `, ${rangePoints} range points` : ''})`;
      const seq = list.filter((p) => p.m.test === 'sequential' && p.m.logE !== undefined);
      if (seq.length) {
        const sid = `evidence:${name}`;
        keep.add(sid);
        const ecard = chartCard(grid, sid);
        const e = evidenceChart(seq);
        plots.show(sid, ecard.plot, `${name}: evidence of a regression, log(e) against log(1/alpha)`, null, e.series, e.data, tz);
        ecard.values.replaceChildren(evidenceTable(seq, tz));
        ecard.summary.textContent = `Values (${seq.length} judgement${seq.length === 1 ? '' : 's'})`;
      }
    }
    for (const card of [...grid.children]) {
      const id = card.getAttribute('data-chart') ?? '';
      if (!keep.has(id)) {
        plots.drop(id);
        card.remove();
      }
    }
  }

  /**
   * The chart card `id` in `grid`, made on first use.
   * @param {HTMLElement} grid
   * @param {string} id
   */
  function chartCard(grid, id) {
    let card = /** @type {HTMLElement | null} */ ([...grid.children].find((c) => c.getAttribute('data-chart') === id) ?? null);
    if (!card) {
      card = el('div', { className: 'chart', 'data-chart': id }, el('div', { className: 'plot' }), el('details', null, el('summary'), el('div', { className: 'values' })));
      grid.append(card);
    }
    return {
      plot: /** @type {HTMLElement} */ (card.querySelector('.plot')),
      summary: /** @type {HTMLElement} */ (card.querySelector('summary')),
      values: /** @type {HTMLElement} */ (card.querySelector('.values')),
    };
  }

  /**
   * A metric's series on one time axis: its value at each checkpoint and guard evaluation, the
   * failed ones marked, the Prometheus range when there is one, the baseline, and each
   * threshold line.
   * @param {Point[]} list
   * @param {MetricRange | null} range
   */
  function metricChart(list, range) {
    const times = new Set(list.map((p) => p.t));
    for (const [t] of range?.points ?? []) times.add(t);
    const xs = [...times].sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    /** @returns {(number | null)[]} */
    const empty = () => xs.map(() => null);
    /** @type {uPlot.Series[]} */
    const series = [];
    /** @type {(number | null | undefined)[][]} */
    const ys = [];
    /** @param {'checkpoint' | 'guard'} source @param {uPlot.Series} opts */
    const values = (source, opts) => {
      const chosen = list.filter((p) => p.source === source);
      if (!chosen.length) return;
      const y = empty();
      for (const p of chosen) y[/** @type {number} */ (index.get(p.t))] = p.m.value;
      series.push(opts);
      ys.push(y);
    };
    values('checkpoint', { label: 'checkpoint', stroke: '#0969da', width: 2, spanGaps: true, points: { show: true, size: 7, fill: '#0969da' } });
    values('guard', { label: 'guard', stroke: '#6e7781', width: 1, spanGaps: true, points: { show: true, size: 5 } });
    // Judgements that failed, marked over their points (no line).
    const failed = list.filter((p) => p.m.verdict === 'fail' && p.m.value !== null);
    if (failed.length) {
      const y = empty();
      for (const p of failed) y[/** @type {number} */ (index.get(p.t))] = p.m.value;
      series.push({ label: 'failed', stroke: '#cf222e', width: 0, paths: () => null, points: { show: true, size: 10, fill: '#cf222e' } });
      ys.push(y);
    }
    if (range) {
      // uPlot breaks a line at null only: the range's own nulls (no sample at that step) break
      // it, the instants of judgements between its steps (undefined) do not.
      /** @type {(number | null | undefined)[]} */
      const y = xs.map(() => undefined);
      for (const [t, v] of range.points) y[/** @type {number} */ (index.get(t))] = v;
      series.push({ label: 'Prometheus', stroke: '#54aeff', width: 1, points: { show: false } });
      ys.push(y);
    }
    if (list.some((p) => typeof p.m.baseline === 'number')) {
      const y = empty();
      for (const p of list) if (typeof p.m.baseline === 'number') y[/** @type {number} */ (index.get(p.t))] = p.m.baseline;
      series.push({ label: 'baseline', stroke: '#57606a', width: 1, dash: [3, 3], spanGaps: true, points: { show: true, size: 4 } });
      ys.push(y);
    }
    for (const [key, label, color, dash] of THRESHOLDS) {
      const known = list.filter((p) => typeof p.m[key] === 'number');
      if (!known.length) continue;
      // Each instant shows the threshold in force then (the latest judgement's, a plan edit
      // moves it); before the first judgement, the first one's.
      let k = 0;
      const y = xs.map((t) => {
        while (k + 1 < known.length && known[k + 1].t <= t) k++;
        return /** @type {number} */ (known[k].m[key]);
      });
      series.push({ label, stroke: color, width: 1.5, dash: [...dash], points: { show: false } });
      ys.push(y);
    }
    return { series, data: aligned([xs, ...ys]) };
  }

  /**
   * A sequential metric's evidence: log(e) at each judgement against log(1/alpha).
   * @param {Point[]} seq
   */
  function evidenceChart(seq) {
    const xs = seq.map((p) => p.t);
    /** @type {uPlot.Series[]} */
    const series = [{ label: 'log(e)', stroke: '#0969da', width: 2, points: { show: true, size: 7, fill: '#0969da' } }];
    /** @type {(number | null)[][]} */
    const ys = [seq.map((p) => p.m.logE ?? null)];
    if (seq.some((p) => p.m.eProof !== undefined)) {
      series.push({ label: 'log(e) of proof', stroke: '#1a7f37', width: 1.5, points: { show: true, size: 5 } });
      ys.push(seq.map((p) => (p.m.eProof !== undefined && p.m.eProof > 0 ? Math.log(p.m.eProof) : null)));
    }
    series.push({ label: 'log(1/alpha)', stroke: '#cf222e', width: 1.5, dash: [6, 4], points: { show: false } });
    ys.push(seq.map((p) => (p.m.threshold ? Math.log(p.m.threshold) : null)));
    return { series, data: aligned([xs, ...ys]) };
  }

  /**
   * @param {Point[]} list
   * @param {string | null} tz
   */
  function valuesTable(list, tz) {
    return el(
      'table',
      null,
      el('thead', null, el('tr', null, ...['Time', 'Judged by', 'Value', 'Verdict', 'Thresholds'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        null,
        ...list.map((p) =>
          el(
            'tr',
            { className: `verdict-${p.m.verdict}` },
            el('td', { className: 'nowrap' }, absolute(p.t * 1000, tz)),
            el('td', null, p.source),
            el('td', { className: 'num' }, num(p.m.value)),
            el('td', { className: 'verdict' }, p.m.verdict, p.m.reason ? el('span', { className: 'sub' }, p.m.reason) : null),
            el('td', null, thresholdsText(p.m)),
          ),
        ),
      ),
    );
  }

  /**
   * @param {Point[]} seq
   * @param {string | null} tz
   */
  function evidenceTable(seq, tz) {
    return el(
      'table',
      null,
      el('thead', null, el('tr', null, ...['Time', 'log(e)', 'log(1/alpha)', 'Counts (canary / baseline)', 'Verdict'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        null,
        ...seq.map((p) =>
          el(
            'tr',
            { className: `verdict-${p.m.verdict}` },
            el('td', { className: 'nowrap' }, absolute(p.t * 1000, tz)),
            el('td', { className: 'num' }, num(p.m.logE)),
            el('td', { className: 'num' }, p.m.threshold ? num(Math.log(p.m.threshold)) : ''),
            el('td', { className: 'num' }, p.m.x !== undefined ? `${p.m.x}/${p.m.n_c} / ${p.m.y}/${p.m.n_b}` : ''),
            el('td', { className: 'verdict' }, p.m.verdict),
          ),
        ),
      ),
    );
  }

  /**
   * @param {HTMLElement} box
   * @param {RolloutPage} page
   */
  function drawDecisions(box, page) {
    const tz = page.summary.timeZone;
    const rows = [...page.records].reverse().map((r) => {
      const late = r.checkpoint?.lateSeconds;
      const split = r.weight.from !== r.weight.to ? `${r.weight.from}% → ${r.weight.to}%` : `${r.weight.to}%`;
      const mirror = r.mirror.from !== r.mirror.to ? `mirror ${r.mirror.from}% → ${r.mirror.to}%` : r.mirror.to ? `mirror ${r.mirror.to}%` : '';
      return el(
        'tr',
        { 'data-seq': String(r.seq) },
        el('td', { className: 'num' }, String(r.seq)),
        el('td', { className: 'nowrap' }, timeSpan(r.at, 'ago', tz), el('span', { className: 'sub' }, absolute(r.at, tz))),
        el('td', null, r.kind, r.checkpoint ? el('span', { className: 'sub' }, `checkpoint ${r.checkpoint.index}/${r.checkpoint.of}${r.checkpoint.attempt && r.checkpoint.attempt > 1 ? `, attempt ${r.checkpoint.attempt}` : ''}`) : null),
        el('td', null, el('span', { className: decisionClass(r.decision) }, r.decision), r.phase ? el('span', { className: 'sub' }, r.phase) : null),
        el('td', { className: 'reason' }, r.reason, ...(r.metrics ?? []).map((m) => el('span', { className: `sub mono verdict-${m.verdict}` }, metricLine(m)))),
        el('td', null, r.actor),
        el('td', { className: 'num' }, late && late > 0 ? duration(late * 1000) : ''),
        el('td', { className: 'num' }, split, mirror ? el('span', { className: 'sub' }, mirror) : null),
      );
    });
    put(
      box,
      el('h2', null, `Decisions (${page.records.length + page.recordsOmitted})`),
      page.recordsOmitted ? el('p', { className: 'muted' }, `${page.recordsOmitted} older decision${page.recordsOmitted === 1 ? '' : 's'} not shown.`) : null,
      el(
        'div',
        { className: 'tablewrap' },
        el(
          'table',
          { className: 'decisions', 'aria-label': 'decisions, newest first' },
          el('thead', null, el('tr', null, ...['#', 'Time', 'Kind', 'Decision', 'Reason', 'Actor', 'Late', 'Split'].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', null, ...(rows.length ? rows : [el('tr', null, el('td', { colSpan: 8, className: 'muted' }, 'No decisions yet.'))])),
        ),
      ),
    );
  }

  /**
   * The page's uPlot charts by id: a chart whose series are unchanged gets new data (it grows
   * in place); otherwise it is made anew.
   */
  class Plots {
    constructor() {
      /** @type {Map<string, { plot: uPlot, key: string, box: HTMLElement }>} */
      this.charts = new Map();
    }

    /**
     * @param {string} id
     * @param {HTMLElement} box
     * @param {string} title
     * @param {string | null} subtitle
     * @param {uPlot.Series[]} series
     * @param {uPlot.AlignedData} data
     * @param {string | null} tz
     * @param {{ range?: [number, number] }} [y]
     */
    show(id, box, title, subtitle, series, data, tz, y = {}) {
      const key = JSON.stringify([title, subtitle, series.map((s) => s.label), y.range ?? null]);
      const have = this.charts.get(id);
      if (have && have.key === key && have.box === box) {
        have.plot.setData(data);
        return;
      }
      if (have) have.plot.destroy();
      const zone = tz ?? 'UTC';
      put(box, el('h3', null, title), subtitle ? el('div', { className: 'query' }, subtitle) : null);
      /** @type {uPlot.Options} */
      const opts = {
        width: this.width(box),
        height: 200,
        series: [{ label: `time (${zone})`, value: (_u, v) => (v === null ? '--' : absolute(v * 1000, zone)) }, ...series],
        scales: { x: { time: true }, y: y.range ? { range: y.range } : {} },
        axes: [{ values: (_u, splits, _ax, _space, incr) => splits.map((t, i) => tickText(t * 1000, i === 0 ? null : splits[i - 1] * 1000, incr, zone)) }, { size: 60 }],
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
        cursor: { drag: { x: true, y: false } },
      };
      const plot = new uPlot(opts, data, box);
      this.charts.set(id, { plot, key, box });
    }

    /** @param {string} id */
    drop(id) {
      this.charts.get(id)?.plot.destroy();
      this.charts.delete(id);
    }

    /** @param {HTMLElement} box */
    width(box) {
      return Math.max(240, box.clientWidth || box.parentElement?.clientWidth || 600);
    }

    resize() {
      for (const { plot, box } of this.charts.values()) plot.setSize({ width: this.width(box), height: 200 });
    }
  }

  // ---------------------------------------------------------------- start

  try {
    const config = /** @type {PageConfig} */ (readJson('rollgate-page'));
    if (config.view === 'overview') overview();
    else if (config.view === 'rollout') rolloutPage(null, config.rollout);
    else {
      const data = /** @type {RolloutPage} */ (readJson('rollgate-data'));
      rolloutPage(data, data.summary.rollout);
    }
  } catch (err) {
    frame(false);
    showError(err);
  }
})();

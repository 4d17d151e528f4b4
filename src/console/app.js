// Brook's web console: plain JavaScript in the browser, no framework and no CDN. Each page is a
// function that renders into <main> from the node's JSON API and, while it is shown, refreshes
// itself on a timer; leaving a page clears its timers and closes its WebSocket.

const main = document.getElementById('main');
const refreshMs = 2000;
let cleanup = [];

// ---- helpers -----------------------------------------------------------------------------

async function api(path, opts = {}) {
  const res = await fetch(path, {
    method: opts.method ?? 'GET',
    headers: opts.body === undefined ? undefined : { 'content-type': 'application/json' },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const json = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(json.error ?? res.statusText);
  return json;
}

/** Builds an element: h('td', { class: 'num' }, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function toast(message, bad = false) {
  const t = h('div', { class: bad ? 'bad' : '' }, message);
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), bad ? 6000 : 3000);
}

async function act(what, fn) {
  try {
    const r = await fn();
    toast(what);
    return r;
  } catch (err) {
    toast(`${what} failed: ${err.message}`, true);
    return undefined;
  }
}

function every(ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (err) {
      console.warn(err);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  let timer = setTimeout(tick, ms);
  cleanup.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

const fmt = {
  int: (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US')),
  ms: (n) => (n === null || n === undefined ? '–' : n < 1 ? `${(n * 1000).toFixed(0)} µs` : n < 1000 ? `${n.toFixed(n < 10 ? 2 : 0)} ms` : `${(n / 1000).toFixed(1)} s`),
  bytes(n) {
    if (n === null || n === undefined) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
  },
  pct: (x) => `${(x * 100).toFixed(1)}%`,
  uptime(ms) {
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400),
      hh = Math.floor((s % 86400) / 3600),
      mm = Math.floor((s % 3600) / 60);
    return d > 0 ? `${d}d ${hh}h ${mm}m` : hh > 0 ? `${hh}h ${mm}m` : `${mm}m ${s % 60}s`;
  },
  time: (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ''),
};

// ---- replication ---------------------------------------------------------------------------

/** A partition's health: offline (no leader), under-replicated (ISR smaller than its replicas), or ok. */
function replicaStatus(p) {
  if (p.offline) return h('span', { class: 'chip failed', 'data-status': 'offline' }, 'offline');
  if (p.underReplicated) return h('span', { class: 'chip restarting', 'data-status': 'under-replicated' }, 'under-replicated');
  return h('span', { class: 'muted', 'data-status': 'ok' }, 'ok');
}

/** The ISR with each replica missing from it struck through: "1, 2, <s>3</s>". */
function isrCell(p) {
  const parts = [];
  for (const r of p.replicas) {
    if (parts.length) parts.push(', ');
    parts.push(p.isr.includes(r) ? String(r) : h('s', { class: 'out-of-isr', title: `replica ${r} is not in the ISR` }, String(r)));
  }
  for (const r of p.isr) if (!p.replicas.includes(r)) parts.push(', ', String(r));
  return h('span', { class: 'mono nowrap' }, parts);
}

/** Each follower's lag as its leader sees it ("2: 0 · 3: 1,204"), or this node's own lag as a follower. */
function followerLagCell(p) {
  if (p.followers && p.followers.length) {
    const parts = [];
    for (const f of p.followers) {
      if (parts.length) parts.push(' · ');
      const lag = f.lagRecords === null ? '?' : fmt.int(f.lagRecords);
      const since = f.caughtUpAgoMs === null ? '' : `, caught up ${fmt.ms(f.caughtUpAgoMs)} ago`;
      parts.push(
        h('span', { class: f.inIsr ? '' : 'lagging', title: `node ${f.nodeId}: log end ${f.logEndOffset}${since}${f.inIsr ? '' : ', not in the ISR'}` }, `${f.nodeId}: ${lag}`),
      );
    }
    return h('span', { class: 'mono nowrap follower-lag' }, parts);
  }
  if (p.role === 'follower' && p.replicaLagRecords !== null)
    return h('span', { class: 'mono muted', title: 'this node, as follower, behind its leader' }, `this node: ${fmt.int(p.replicaLagRecords)}`);
  return p.replicas.length > 1 ? h('span', { class: 'muted' }, '–') : '';
}

function b64bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Renders a key, value or header value (a {b64, size, truncated} view) as text, JSON or hex. */
function renderBytes(view, mode) {
  if (view === null || view === undefined) return h('span', { class: 'muted' }, 'null');
  const bytes = b64bytes(view.b64);
  let text;
  if (mode === 'hex') {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.subarray(i, i + 16));
      lines.push(
        `${i.toString(16).padStart(6, '0')}  ${row
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(' ')
          .padEnd(47)}  ${row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')}`,
      );
    }
    text = lines.join('\n');
  } else {
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    if (mode === 'json') {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        /* not JSON: shown as text */
      }
    }
  }
  return h('pre', { class: 'value' }, text, view.truncated ? h('span', { class: 'muted' }, `\n… ${fmt.bytes(view.size)} in all`) : null);
}

function headersCell(headers, mode) {
  if (!headers || headers.length === 0) return h('span', { class: 'muted' }, '–');
  return h(
    'div',
    { class: 'headers' },
    headers.map((x) => h('div', {}, h('b', {}, `${x.key}: `), renderBytes(x.value, mode === 'hex' ? 'hex' : 'text'))),
  );
}

function table(columns, rows, opts = {}) {
  const cls = (c) => [c.num ? 'num' : '', c.cls ?? ''].join(' ').trim();
  const head = h(
    'tr',
    {},
    columns.map((c) => h('th', { class: cls(c) }, c.title)),
  );
  const body = rows.map((r) =>
    h(
      'tr',
      { class: opts.onclick ? 'clickable' : '', ...(opts.attrs ? opts.attrs(r) : {}), onclick: opts.onclick ? () => opts.onclick(r) : undefined },
      columns.map((c) => h('td', { class: cls(c) }, c.cell(r))),
    ),
  );
  return h(
    'table',
    { id: opts.id },
    h('thead', {}, head),
    h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, opts.empty ?? 'nothing here yet'))),
  );
}

function replace(el, node) {
  el.replaceChildren(node);
}

// ---- overview ----------------------------------------------------------------------------

async function overviewPage() {
  main.append(h('h1', {}, 'Overview'));
  const cards = h('div', { class: 'cards' });
  const threadsHead = h(
    'div',
    { class: 'toolbar' },
    h('h2', { style: 'margin:0' }, 'Worker threads'),
    h('span', { class: 'spacer' }),
    h('button', { class: 'primary', id: 'add-worker', onclick: () => addWorker().then(draw) }, '+ Add worker thread'),
  );
  const threads = h('div', { class: 'threads', id: 'threads' });
  main.append(cards, h('div', { style: 'height:18px' }), threadsHead, threads);
  // The process's CPU share is worked out between two of this page's own polls (the first one
  // against the process's start), so other readers of the API cannot shorten its interval.
  let cpuBefore = { uptimeMs: 0, cpuMs: 0 };
  async function draw() {
    const o = await api('/api/overview');
    const actors = o.threads.reduce((n, t) => n + t.actors.length, 0);
    const cpuMs = o.processCpuMs.user + o.processCpuMs.system;
    const processCpu = o.uptimeMs > cpuBefore.uptimeMs ? (cpuMs - cpuBefore.cpuMs) / (o.uptimeMs - cpuBefore.uptimeMs) : null;
    cpuBefore = { uptimeMs: o.uptimeMs, cpuMs };
    cards.replaceChildren(
      ...[
        ['Node', o.nodeId],
        ['Cluster', o.clusterId],
        ['Uptime', fmt.uptime(o.uptimeMs)],
        ['Kafka listener', o.listener],
        ['Topics', o.topics],
        ['Partition logs open', `${o.partitionLogs.active} of at most ${o.partitionLogs.maxActive} · ${o.partitionLogs.passivated} passivated`],
        ['Fetch cache', fetchCacheText(o.fetchCache)],
        ['Threads', o.threads.length],
        ['Actors', actors],
        ['Memory (RSS)', fmt.bytes(o.rssBytes)],
        ['CPU (whole process)', processCpu === null ? '–' : `${(processCpu * 100).toFixed(0)}% of a core`],
      ].map(([label, value]) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value))),
    );
    threads.replaceChildren(
      ...o.threads.map((t) =>
        h(
          'div',
          { class: 'panel thread', 'data-thread': t.threadIndex },
          h('h3', {}, `Thread ${t.threadIndex}`, h('span', { class: 'muted' }, `${t.actors.length} actors`)),
          // This thread's own CPU: Node 20 has no per-thread CPU clock, so it is the thread's
          // event-loop utilisation, which the node samples from the main thread for every reader.
          h(
            'div',
            {
              class: 'thread-cpu',
              title:
                "Share of the interval this thread's event loop was busy (perf_hooks event-loop utilisation, measured from the main thread). For a partition thread that is its CPU, plus any time blocked in a synchronous write such as fsync.",
            },
            'CPU ',
            h('b', { class: 'value' }, fmt.pct(t.eventLoopUtilization)),
            h('span', { class: 'muted' }, ` event loop busy over ${(t.eventLoopIntervalMs / 1000).toFixed(1)} s`),
          ),
          h('div', { class: 'meter' }, h('span', { style: `width:${Math.min(100, t.eventLoopUtilization * 100).toFixed(1)}%` })),
          h('div', { class: 'muted' }, `Event-loop delay p50 ${fmt.ms(t.eventLoopDelayMs?.p50)} · p99 ${fmt.ms(t.eventLoopDelayMs?.p99)} · max ${fmt.ms(t.eventLoopDelayMs?.max)}`),
          h(
            'div',
            { class: 'chips' },
            t.actorKinds
              .sort((a, b) => kindOrder(a) - kindOrder(b) || a.id.localeCompare(b.id, 'en', { numeric: true }))
              .map((a) =>
                h(
                  'a',
                  {
                    class: `chip ${a.kind} ${a.status}`,
                    href: `#/actors/${encodeURIComponent(a.id)}`,
                    'data-actor': a.id,
                    title: `${a.kind}, ${a.status}, mailbox ${a.mailboxDepth}`,
                  },
                  a.id.replace(/^partition:/, ''),
                ),
              ),
          ),
        ),
      ),
    );
    document.getElementById('node-badge').textContent = `node ${o.nodeId} · ${o.listener} · up ${fmt.uptime(o.uptimeMs)}`;
  }
  await draw();
  every(refreshMs, draw);
}

/** The batch cache's fill and hit rate, for the overview's card. */
function fetchCacheText(c) {
  if (!c || c.maxBytes === 0) return 'off';
  const asked = c.hits + c.misses;
  const rate = asked === 0 ? '–' : fmt.pct(c.hits / asked);
  return `${fmt.bytes(c.bytes)} of ${fmt.bytes(c.maxBytes)} · ${c.partitions} partitions · ${rate} of fetches served`;
}

async function addWorker() {
  const r = await act('Worker thread added', () => api('/api/workers', { method: 'POST', body: { count: 1 } }));
  if (r) toast(`Thread ${r.added.join(', ')} added; ${r.moved.length} actor(s) moved`);
}

// ---- actors ------------------------------------------------------------------------------

const failurePoints = ['append', 'commit', 'read', 'truncate', 'deleteRecords'];
const previousHandled = new Map();

/** Partitions of user topics first, then the group coordinators (50 of them by default). */
function kindOrder(a) {
  return a.kind === 'partition' ? 0 : 1;
}

function partitionState(a) {
  const s = a.state && a.state.partition && typeof a.state.partition === 'object' ? a.state.partition : a.state;
  return s && typeof s.logEndOffset === 'number' ? s : null;
}

/**
 * An actor's state as short fields. Each field keeps its words together and the cell may wrap
 * between fields, so the column can be narrow enough for the table to fit a 1400 px window
 * without any field being cut or broken mid-word.
 */
function stateCell(a) {
  const s = partitionState(a);
  if (!s) return h('span', { class: 'muted' }, a.state ? JSON.stringify(a.state).slice(0, 120) : '–');
  const parts = [[`start ${s.logStartOffset}`, `end ${s.logEndOffset}`, `hw ${s.highWatermark}`], [`epoch ${s.leaderEpoch}`], [fmt.bytes(s.sizeBytes)]];
  if (a.state.groups) parts.push([`${a.state.groups.groups} groups,`, `${a.state.groups.members} members`]);
  // A part's separator stays with its last field, so a line never starts with one.
  const fields = parts.flatMap((p, i) => p.map((f, j) => (j === p.length - 1 && i < parts.length - 1 ? `${f} ·` : f)));
  return h(
    'span',
    { class: 'mono state' },
    fields.flatMap((f, i) => [h('span', { class: 'field' }, f), i < fields.length - 1 ? ' ' : null]),
  );
}

/** A p50 / p99 pair that may break between the two figures, never inside one. */
function pair(p) {
  if (!p) return '–';
  return h('span', {}, h('span', { class: 'nowrap' }, `${fmt.ms(p.p50)} /`), ' ', h('span', { class: 'nowrap' }, fmt.ms(p.p99)));
}

/**
 * The row's controls: a failure point to switch on or off (partition logs only), and a restart.
 * They share one cell, the select above the two buttons, which keeps the column narrow.
 */
function actionsCell(a, onChange) {
  // A passivated actor (log closed until its next request) can only be woken; an active
  // partition or coordinator can also be passivated by hand.
  const lifecycle = (verb, label) =>
    h(
      'button',
      {
        class: `small ${verb}`,
        onclick: async (e) => {
          e.stopPropagation();
          await act(`${label} ${a.id}`, () => api(`/api/actors/${encodeURIComponent(a.id)}/${verb}`, { method: 'POST', body: {} }));
          onChange();
        },
      },
      label,
    );
  if (a.status === 'passivated') return h('div', { class: 'actions' }, h('span', { class: 'muted' }, 'log closed'), h('span'), lifecycle('wake', 'Wake'));
  const passivate = a.kind === 'partition' || a.kind === 'group-coordinator' ? lifecycle('passivate', 'Passivate') : null;
  const restart = h(
    'button',
    {
      class: 'small restart',
      onclick: async (e) => {
        e.stopPropagation();
        await act(`Restarted ${a.id}`, () => api(`/api/actors/${encodeURIComponent(a.id)}/restart`, { method: 'POST', body: {} }));
        onChange();
      },
    },
    'Restart',
  );
  const fp = failurePointControl(a, onChange);
  return fp
    ? h('div', { class: 'actions' }, fp.select, fp.button, restart, passivate)
    : h('div', { class: 'actions' }, h('span', { class: 'muted' }, 'no failure points'), h('span'), restart, passivate);
}

function failurePointControl(a, onChange) {
  const s = partitionState(a);
  if (!s) return null;
  const armed = new Set(s.failurePoints ?? []);
  const select = h(
    'select',
    { class: 'fp-select', 'aria-label': 'failure point', title: 'failure point of the partition log, to switch on or off' },
    failurePoints.map((p) => h('option', { value: p }, p + (armed.has(p) ? ' (on)' : ''))),
  );
  const on = () => armed.has(select.value);
  const button = h('button', { class: `small fp-toggle ${on() ? 'on' : ''}` }, on() ? 'Switch off' : 'Switch on');
  select.addEventListener('change', () => {
    button.textContent = on() ? 'Switch off' : 'Switch on';
    button.classList.toggle('on', on());
  });
  button.addEventListener('click', async (e) => {
    e.stopPropagation();
    const enabled = !on();
    await act(`Failure point ${select.value} ${enabled ? 'on' : 'off'} for ${a.id}`, () =>
      api(`/api/actors/${encodeURIComponent(a.id)}/failure-points`, { method: 'POST', body: { point: select.value, enabled } }),
    );
    onChange();
  });
  select.addEventListener('click', (e) => e.stopPropagation());
  return { select, button };
}

async function actorsPage(selected) {
  const filter = h('input', { placeholder: 'filter actors…', id: 'actor-filter', value: sessionStorage.getItem('actorFilter') ?? '' });
  const kind = h(
    'select',
    { id: 'actor-kind' },
    h('option', { value: '' }, 'all kinds'),
    h('option', { value: 'partition' }, 'partition'),
    h('option', { value: 'group-coordinator' }, 'group-coordinator'),
  );
  main.append(
    h('h1', {}, 'Actors'),
    h('div', { class: 'toolbar' }, filter, kind, h('span', { class: 'spacer' }), h('button', { class: 'primary', onclick: () => addWorker().then(draw) }, '+ Add worker thread')),
  );
  const holder = h('div', { class: 'scroll-x' });
  const detail = h('div', { id: 'actor-detail' });
  main.append(detail, holder);
  let last = Date.now();
  async function draw() {
    // A control the user is working with (a failure point select) is not redrawn under them.
    if (holder.contains(document.activeElement) && document.activeElement.tagName === 'SELECT') return;
    const rows = await api('/api/actors');
    const now = Date.now();
    const dt = (now - last) / 1000;
    last = now;
    const f = filter.value.trim().toLowerCase();
    sessionStorage.setItem('actorFilter', filter.value);
    const shown = rows
      .filter((a) => (!f || a.id.toLowerCase().includes(f)) && (!kind.value || a.kind === kind.value))
      .sort((a, b) => kindOrder(a) - kindOrder(b) || (a.threadIndex ?? -1) - (b.threadIndex ?? -1) || a.id.localeCompare(b.id, 'en', { numeric: true }));
    for (const a of shown) {
      const prev = previousHandled.get(a.id);
      a.rate = prev === undefined || a.messagesHandled === undefined || a.messagesHandled < prev || dt <= 0 ? null : (a.messagesHandled - prev) / dt;
      if (a.messagesHandled !== undefined) previousHandled.set(a.id, a.messagesHandled);
    }
    replace(
      holder,
      table(
        [
          // Every actor here is addressed as partition:<topic>:<n>; the prefix is left out (as on
          // the overview's chips) to keep the table within a 1400 px window, and is in the tooltip.
          {
            title: 'Actor',
            cell: (a) => h('a', { href: `#/actors/${encodeURIComponent(a.id)}`, class: 'mono', title: a.id, onclick: (e) => e.stopPropagation() }, a.id.replace(/^partition:/, '')),
          },
          { title: 'Kind', cell: (a) => a.kind },
          { title: 'Thread', num: true, cell: (a) => a.threadIndex ?? '–' },
          { title: 'Status', cell: (a) => h('span', { class: `status ${a.status}` }, a.status) },
          { title: 'Mailbox', num: true, cell: (a) => a.inFlight + a.waiting },
          { title: ['Wait', h('br'), 'p50 / p99'], num: true, cell: (a) => pair(a.waitMs) },
          { title: ['Run', h('br'), 'p50 / p99'], num: true, cell: (a) => pair(a.runMs) },
          { title: 'Msgs/s', num: true, cell: (a) => (a.rate === null ? '–' : a.rate.toFixed(a.rate < 10 ? 1 : 0)) },
          { title: 'Handled', num: true, cell: (a) => fmt.int(a.messagesHandled) },
          { title: 'Restarts', num: true, cell: (a) => h('span', { class: 'restarts' }, a.restarts) },
          { title: 'Last error', cell: (a) => (a.lastError ? h('div', { class: 'error-text' }, a.lastError) : '') },
          { title: 'State', cls: 'state-col', cell: stateCell },
          { title: 'Actions', cell: (a) => actionsCell(a, draw) },
        ],
        shown,
        {
          id: 'actors-table',
          attrs: (a) => ({ 'data-actor': a.id, 'data-thread': a.threadIndex }),
          onclick: (a) => {
            location.hash = `#/actors/${encodeURIComponent(a.id)}`;
          },
        },
      ),
    );
  }
  filter.addEventListener('input', draw);
  kind.addEventListener('change', draw);
  await draw();
  if (selected) await actorDetail(detail, selected);
  every(refreshMs, async () => {
    await draw();
    if (selected) await actorDetail(detail, selected);
  });
}

async function actorDetail(el, id) {
  let a;
  try {
    a = await api(`/api/actors/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(el, h('p', { class: 'error-text' }, err.message));
    return;
  }
  if (!el.firstChild) {
    const kinds = await api('/api/actor-kinds');
    const types = kinds[a.kind] ?? [];
    const input = h('textarea', { rows: 4, style: 'width:100%', id: 'send-message' }, JSON.stringify({ type: types.includes('GetOffsets') ? 'GetOffsets' : (types[0] ?? '') }));
    const out = h('pre', { class: 'value', id: 'send-reply', style: 'max-height:260px' });
    const send = async () => {
      try {
        const r = await api(`/api/actors/${encodeURIComponent(id)}/send`, { method: 'POST', body: { message: JSON.parse(input.value) } });
        out.textContent = JSON.stringify(r.reply, null, 2);
      } catch (err) {
        out.textContent = `error: ${err.message}`;
      }
    };
    el.append(
      h('div', { class: 'toolbar' }, h('h2', { style: 'margin:0' }, `Actor ${id}`), h('span', { class: 'spacer' }), h('a', { href: '#/actors' }, 'close')),
      h(
        'div',
        { class: 'split' },
        h('div', { class: 'panel' }, h('dl', { class: 'kv', id: 'actor-kv' })),
        h(
          'div',
          { class: 'panel' },
          h('div', { class: 'muted' }, `Send a message (${types.join(', ')}); bytes as {"$bytes": base64}`),
          input,
          h('div', { class: 'toolbar', style: 'margin-top:6px' }, h('button', { class: 'primary', id: 'send-button', onclick: send }, 'Send')),
          out,
        ),
      ),
      h('div', { style: 'height:18px' }),
    );
  }
  const kv = el.querySelector('#actor-kv');
  const state = partitionState(a) ?? a.state ?? {};
  const rows = [
    ['kind', a.kind],
    ['status', a.status],
    ['thread', a.threadIndex],
    ['mailbox', `${a.mailboxDepth ?? 0} queued, ${a.inFlight} in flight, ${a.waiting} waiting`],
    ['busy', a.busy],
    ['messages handled', a.messagesHandled],
    ['wait ms', a.waitMs && `p50 ${fmt.ms(a.waitMs.p50)} · p99 ${fmt.ms(a.waitMs.p99)} · max ${fmt.ms(a.waitMs.max)}`],
    ['run ms', a.runMs && `p50 ${fmt.ms(a.runMs.p50)} · p99 ${fmt.ms(a.runMs.p99)} · max ${fmt.ms(a.runMs.max)}`],
    ['restarts', a.restarts],
    ['last error', a.lastError ?? '–'],
    ...Object.entries(state).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
  ];
  kv.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === undefined ? '–' : String(v))]));
}

// ---- topics ------------------------------------------------------------------------------

async function topicsPage(selected) {
  const name = h('input', { placeholder: 'topic name', id: 'new-topic-name' });
  const parts = h('input', { type: 'number', min: 1, value: 3, style: 'width:80px', id: 'new-topic-partitions', title: 'partitions' });
  const configs = h('input', { placeholder: 'configs: retention.ms=60000, cleanup.policy=compact', style: 'width:340px', id: 'new-topic-configs' });
  const internal = h('input', { type: 'checkbox', id: 'show-internal' });
  const create = async () => {
    const cfg = {};
    for (const pair of configs.value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const i = pair.indexOf('=');
      if (i > 0) cfg[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
    }
    const r = await act(`Created topic ${name.value}`, () => api('/api/topics', { method: 'POST', body: { name: name.value, partitions: Number(parts.value), configs: cfg } }));
    if (r) {
      name.value = '';
      draw();
    }
  };
  main.append(
    h('h1', {}, 'Topics'),
    h(
      'div',
      { class: 'toolbar' },
      name,
      h('label', { class: 'inline' }, 'partitions', parts),
      configs,
      h('button', { class: 'primary', id: 'create-topic', onclick: create }, 'Create topic'),
      h('span', { class: 'spacer' }),
      h('label', { class: 'inline' }, internal, 'show internal'),
    ),
  );
  const holder = h('div');
  const detail = h('div', { id: 'topic-detail' });
  main.append(holder, detail);
  async function draw() {
    const topics = (await api('/api/topics')).filter((t) => internal.checked || !t.internal);
    replace(
      holder,
      table(
        [
          { title: 'Topic', cell: (t) => h('a', { href: `#/topics/${encodeURIComponent(t.name)}`, class: 'mono' }, t.name) },
          { title: 'Partitions', num: true, cell: (t) => t.partitions.length },
          { title: 'Records', num: true, cell: (t) => fmt.int(t.records) },
          { title: 'Size', num: true, cell: (t) => fmt.bytes(t.sizeBytes) },
          { title: 'Under-replicated', num: true, cell: (t) => (t.underReplicated ? h('span', { class: 'warn-text' }, t.underReplicated) : 0) },
          { title: 'Offline', num: true, cell: (t) => (t.offline ? h('span', { class: 'bad-text' }, t.offline) : 0) },
          {
            title: 'Overrides',
            cell: (t) =>
              h(
                'span',
                { class: 'mono' },
                Object.entries(t.overrides)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || '–',
              ),
          },
          {
            title: '',
            cell: (t) =>
              h(
                'span',
                { style: 'white-space:nowrap' },
                h('a', { href: `#/messages/${encodeURIComponent(t.name)}` }, 'browse'),
                ' · ',
                h('a', { href: `#/tail/${encodeURIComponent(t.name)}` }, 'tail'),
              ),
          },
        ],
        topics,
        {
          id: 'topics-table',
          attrs: (t) => ({ 'data-topic': t.name }),
          onclick: (t) => {
            location.hash = `#/topics/${encodeURIComponent(t.name)}`;
          },
        },
      ),
    );
    if (selected) await topicDetail(detail, selected, draw);
  }
  internal.addEventListener('change', draw);
  await draw();
  every(refreshMs * 2, draw);
}

async function topicDetail(el, name, redraw) {
  let t;
  try {
    t = await api(`/api/topics/${encodeURIComponent(name)}`);
  } catch (err) {
    replace(el, h('p', { class: 'error-text' }, err.message));
    return;
  }
  const del = h(
    'button',
    {
      class: 'danger',
      id: 'delete-topic',
      onclick: async () => {
        if (!confirm(`Delete topic ${name} and all its records?`)) return;
        const r = await act(`Deleted topic ${name}`, () => api(`/api/topics/${encodeURIComponent(name)}`, { method: 'DELETE', body: {} }));
        if (r) {
          location.hash = '#/topics';
        }
      },
    },
    'Delete topic',
  );
  replace(
    el,
    h(
      'div',
      {},
      h(
        'div',
        { class: 'toolbar' },
        h('h2', { style: 'margin:0' }, `Topic ${name}`),
        h('span', { class: 'muted mono' }, t.topicId),
        t.underReplicated ? h('span', { class: 'chip restarting', id: 'topic-under-replicated' }, `${t.underReplicated} under-replicated`) : null,
        t.offline ? h('span', { class: 'chip failed', id: 'topic-offline' }, `${t.offline} offline`) : null,
        t.followersUnavailable && t.followersUnavailable.length ? h('span', { class: 'muted' }, `no follower lag from node(s) ${t.followersUnavailable.join(', ')}`) : null,
        h('span', { class: 'spacer' }),
        t.internal ? null : del,
      ),
      // Replication makes the partitions table wide: it takes the full width, the configs go below.
      h(
        'div',
        { class: 'stack' },
        h(
          'div',
          { class: 'scroll-x' },
          table(
            [
              { title: 'Partition', num: true, cell: (p) => p.partition },
              { title: 'Leader', num: true, cell: (p) => (p.leader < 0 ? h('span', { class: 'error-text' }, 'none') : p.leader) },
              { title: 'Epoch', num: true, cell: (p) => p.leaderEpoch },
              { title: 'Replicas', cell: (p) => h('span', { class: 'mono nowrap' }, p.replicas.join(', ')) },
              { title: 'ISR', cell: isrCell },
              { title: 'Status', cell: replicaStatus },
              { title: 'Follower lag (records)', cell: followerLagCell },
              // Offsets and size are this node's replica's (a follower's trail its leader's a little).
              { title: 'This node', cell: (p) => h('span', { class: 'muted' }, p.role ?? '–') },
              { title: 'Log start', num: true, cell: (p) => fmt.int(p.logStartOffset) },
              { title: 'High watermark', num: true, cell: (p) => fmt.int(p.highWatermark) },
              { title: 'Log end', num: true, cell: (p) => fmt.int(p.logEndOffset) },
              { title: 'Size', num: true, cell: (p) => fmt.bytes(p.sizeBytes) },
              { title: '', cell: (p) => h('a', { href: `#/messages/${encodeURIComponent(name)}/${p.partition}` }, 'browse') },
            ],
            t.partitions,
            { id: 'partitions-table', attrs: (p) => ({ 'data-partition': p.partition }) },
          ),
        ),
        table(
          [
            { title: 'Config', cell: (c) => h('span', { class: 'mono' }, c[0]) },
            { title: 'Value', cell: (c) => h('span', { class: 'mono' }, c[1], t.overrides[c[0]] !== undefined ? h('b', {}, ' (override)') : '') },
          ],
          Object.entries(t.configs),
        ),
      ),
    ),
  );
  void redraw;
}

// ---- message browser ---------------------------------------------------------------------

async function topicNames() {
  return (await api('/api/topics')).map((t) => ({ name: t.name, partitions: t.partitions.length, internal: t.internal }));
}

async function messagesPage(topicArg, partitionArg) {
  const topics = await topicNames();
  const topic = h(
    'select',
    { id: 'browse-topic' },
    topics.filter((t) => !t.internal || t.name === topicArg).map((t) => h('option', { value: t.name, selected: t.name === topicArg }, t.name)),
  );
  const partition = h('select', { id: 'browse-partition' });
  const fillPartitions = () => {
    const t = topics.find((x) => x.name === topic.value);
    partition.replaceChildren(...Array.from({ length: t ? t.partitions : 0 }, (_, i) => h('option', { value: i, selected: String(i) === partitionArg }, `partition ${i}`)));
  };
  fillPartitions();
  const mode = h(
    'select',
    { id: 'browse-mode' },
    h('option', { value: 'latest' }, 'latest'),
    h('option', { value: 'offset' }, 'from offset'),
    h('option', { value: 'timestamp' }, 'from time'),
  );
  const start = h('input', { id: 'browse-start', placeholder: 'offset', style: 'width:190px' });
  const search = h('input', { id: 'browse-search', placeholder: 'search key / value', style: 'width:200px' });
  const limit = h(
    'select',
    { id: 'browse-limit' },
    [20, 50, 100, 500].map((n) => h('option', { value: n, selected: n === 50 }, `${n} records`)),
  );
  const format = h('select', { id: 'browse-format' }, h('option', { value: 'text' }, 'text'), h('option', { value: 'json' }, 'JSON'), h('option', { value: 'hex' }, 'hex'));
  const info = h('span', { class: 'muted', id: 'browse-info' });
  const holder = h('div', { id: 'browse-results' });
  let lastPage = null;
  mode.addEventListener('change', () => {
    start.placeholder = mode.value === 'timestamp' ? 'YYYY-MM-DD HH:MM:SS or ms' : 'offset';
    if (mode.value === 'timestamp' && !start.value) start.value = new Date(Date.now() - 3600_000).toISOString().slice(0, 19).replace('T', ' ');
  });
  topic.addEventListener('change', fillPartitions);
  // Only the newest load may draw: an older, slower answer must not overwrite a newer one.
  let loadSeq = 0;
  const load = async (fromOffset) => {
    const seq = ++loadSeq;
    const q = new URLSearchParams({ limit: limit.value });
    if (fromOffset !== undefined) q.set('offset', String(fromOffset));
    else if (mode.value === 'offset') q.set('offset', String(Number(start.value) || 0));
    else if (mode.value === 'timestamp') {
      const ms = /^\d+$/.test(start.value.trim()) ? Number(start.value) : Date.parse(start.value.trim().replace(' ', 'T') + (start.value.includes('Z') ? '' : 'Z'));
      if (!Number.isFinite(ms)) {
        toast('cannot read that time', true);
        return;
      }
      q.set('timestamp', String(ms));
    }
    if (search.value) q.set('search', search.value);
    try {
      const page = await api(`/api/topics/${encodeURIComponent(topic.value)}/partitions/${partition.value}/records?${q}`);
      if (seq !== loadSeq) return;
      lastPage = page;
      drawPage();
    } catch (err) {
      toast(err.message, true);
    }
  };
  const drawPage = () => {
    const p = lastPage;
    if (!p) return;
    info.textContent = `offsets ${p.logStartOffset}…${p.highWatermark} · showing ${p.records.length} from ${p.startOffset}${p.done ? '' : ` · more from ${p.nextOffset}`}`;
    const f = format.value;
    replace(
      holder,
      h(
        'div',
        {},
        table(
          [
            { title: 'Offset', num: true, cell: (r) => r.offset },
            { title: 'Timestamp', cell: (r) => h('span', { class: 'mono', title: r.timestampType }, fmt.time(r.timestampMs)) },
            { title: 'Key', cell: (r) => renderBytes(r.key, f) },
            { title: 'Value', cell: (r) => renderBytes(r.value, f) },
            { title: 'Headers', cell: (r) => headersCell(r.headers, f) },
          ],
          p.records,
          { id: 'records-table', empty: 'no records here', attrs: (r) => ({ 'data-offset': r.offset }) },
        ),
        p.done
          ? null
          : h('div', { class: 'toolbar', style: 'margin-top:8px' }, h('button', { id: 'browse-next', onclick: () => load(p.nextOffset) }, `Next page from ${p.nextOffset}`)),
      ),
    );
  };
  format.addEventListener('change', drawPage);
  main.append(
    h('h1', {}, 'Message browser'),
    h('div', { class: 'toolbar' }, topic, partition, mode, start, search, limit, format, h('button', { class: 'primary', id: 'browse-load', onclick: () => load() }, 'Load'), info),
    holder,
  );
  if (topic.value) await load();
}

// ---- live tail ---------------------------------------------------------------------------

async function tailPage(topicArg) {
  const topics = await topicNames();
  const topic = h(
    'select',
    { id: 'tail-topic' },
    topics.filter((t) => !t.internal).map((t) => h('option', { value: t.name, selected: t.name === topicArg }, t.name)),
  );
  const format = h('select', { id: 'tail-format' }, h('option', { value: 'text' }, 'text'), h('option', { value: 'json' }, 'JSON'), h('option', { value: 'hex' }, 'hex'));
  const status = h('span', { class: 'muted', id: 'tail-status' }, 'stopped');
  const body = h('tbody');
  const list = h(
    'div',
    { class: 'tail-list' },
    h(
      'table',
      { id: 'tail-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Partition', 'Offset', 'Timestamp', 'Key', 'Value', 'Headers'].map((t) => h('th', {}, t)),
        ),
      ),
      body,
    ),
  );
  let ws = null;
  let count = 0;
  const stop = () => {
    if (ws) {
      ws.close();
      ws = null;
    }
    status.textContent = 'stopped';
    startBtn.textContent = 'Start';
  };
  const start = () => {
    stop();
    body.replaceChildren();
    count = 0;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}/api/tail?topic=${encodeURIComponent(topic.value)}&back=5`);
    status.textContent = 'connecting…';
    startBtn.textContent = 'Stop';
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'subscribed') status.textContent = `tailing ${m.topic} (${m.partitions.length} partitions)`;
      else if (m.type === 'skipped') toast(`partition ${m.partition}: skipped ${m.to - m.from} records (too slow)`, true);
      else if (m.type === 'error') toast(`partition ${m.partition}: ${m.message}`, true);
      else if (m.type === 'records') {
        for (const r of m.records) {
          count++;
          body.prepend(
            h(
              'tr',
              { 'data-offset': r.offset, 'data-partition': r.partition },
              h('td', { class: 'num' }, r.partition),
              h('td', { class: 'num' }, r.offset),
              h('td', { class: 'mono' }, fmt.time(r.timestampMs)),
              h('td', {}, renderBytes(r.key, format.value)),
              h('td', {}, renderBytes(r.value, format.value)),
              h('td', {}, headersCell(r.headers, format.value)),
            ),
          );
        }
        while (body.children.length > 500) body.lastChild.remove();
        status.textContent = `tailing ${topic.value}: ${count} records received`;
      }
    };
    ws.onclose = () => {
      if (ws) status.textContent = 'disconnected';
    };
  };
  const startBtn = h('button', { class: 'primary', id: 'tail-start', onclick: () => (ws ? stop() : start()) }, 'Start');
  main.append(h('h1', {}, 'Live tail'), h('div', { class: 'toolbar' }, topic, format, startBtn, status), list);
  cleanup.push(stop);
  if (topicArg && topic.value) start();
}

// ---- groups ------------------------------------------------------------------------------

async function groupsPage(selected) {
  main.append(h('h1', {}, 'Consumer groups'));
  const holder = h('div');
  const detail = h('div', { id: 'group-detail' });
  main.append(holder, detail);
  async function draw() {
    const groups = await api('/api/groups');
    replace(
      holder,
      table(
        [
          { title: 'Group', cell: (g) => h('a', { href: `#/groups/${encodeURIComponent(g.groupId)}`, class: 'mono' }, g.groupId) },
          { title: 'State', cell: (g) => h('span', { class: `status ${g.state}` }, g.state) },
          { title: 'Protocol', cell: (g) => `${g.protocolType}${g.protocol ? ` / ${g.protocol}` : ''}` },
          { title: 'Members', num: true, cell: (g) => g.members.length },
          { title: 'Partitions', num: true, cell: (g) => g.offsets.length },
          { title: 'Total lag', num: true, cell: (g) => h('b', { class: 'lag' }, fmt.int(g.totalLag)) },
          { title: 'Coordinator', cell: (g) => h('span', { class: 'mono' }, g.coordinator) },
        ],
        groups,
        {
          id: 'groups-table',
          empty: 'no consumer groups',
          attrs: (g) => ({ 'data-group': g.groupId }),
          onclick: (g) => {
            location.hash = `#/groups/${encodeURIComponent(g.groupId)}`;
          },
        },
      ),
    );
    if (selected) {
      const g = groups.find((x) => x.groupId === selected) ?? (await api(`/api/groups/${encodeURIComponent(selected)}`).catch(() => null));
      if (!g) {
        replace(detail, h('p', { class: 'error-text' }, `no group ${selected}`));
        return;
      }
      replace(
        detail,
        h(
          'div',
          {},
          h('h2', {}, `Group ${g.groupId} · ${g.state} · total lag ${fmt.int(g.totalLag)}`),
          h(
            'div',
            { class: 'split' },
            table(
              [
                { title: 'Member', cell: (m) => h('span', { class: 'mono' }, m.memberId) },
                { title: 'Client', cell: (m) => `${m.clientId} ${m.clientHost}` },
                { title: 'Assignment', cell: (m) => h('span', { class: 'mono' }, m.assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' ') || '–') },
              ],
              g.members,
              { empty: 'no members' },
            ),
            table(
              [
                { title: 'Topic', cell: (o) => o.topic },
                { title: 'Partition', num: true, cell: (o) => o.partition },
                { title: 'Committed', num: true, cell: (o) => fmt.int(o.committedOffset) },
                { title: 'High watermark', num: true, cell: (o) => fmt.int(o.highWatermark) },
                { title: 'Lag', num: true, cell: (o) => h('b', {}, fmt.int(o.lag)) },
                { title: 'Member', cell: (o) => h('span', { class: 'mono' }, o.memberId ?? '–') },
              ],
              g.offsets,
              { id: 'group-offsets', empty: 'no committed offsets' },
            ),
          ),
        ),
      );
    }
  }
  await draw();
  every(refreshMs, draw);
}

// ---- charts ------------------------------------------------------------------------------

const palette = ['#0f6e6a', '#d9822b', '#6b46c1', '#c0392b'];

/** Draws series of [x, y] on a canvas with axes, grid and y labels (device-pixel sharp). */
function drawChart(canvas, series, opts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth,
    hgt = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, hgt);
  const left = 62,
    right = 10,
    top = 8,
    bottom = 22;
  const pw = w - left - right,
    ph = hgt - top - bottom;
  const xs = series[0]?.points.map((p) => p[0]) ?? [];
  const x0 = xs[0] ?? 0,
    x1 = xs[xs.length - 1] ?? 1;
  let ymax = 0;
  for (const s of series) for (const [, y] of s.points) ymax = Math.max(ymax, y);
  ymax = niceMax(ymax);
  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#e3e8ea';
  g.fillStyle = '#66737a';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (ph * i) / 4;
    g.beginPath();
    g.moveTo(left, Math.round(y) + 0.5);
    g.lineTo(left + pw, Math.round(y) + 0.5);
    g.stroke();
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    g.fillText(opts.format((ymax * i) / 4), left - 6, y);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const span = Math.max(1, x1 - x0);
  for (let i = 0; i <= 5; i++) {
    const x = x0 + (span * i) / 5;
    const ago = Math.round(x1 - x);
    g.fillText(ago === 0 ? 'now' : ago >= 60 ? `-${(ago / 60).toFixed(ago % 60 ? 1 : 0)}m` : `-${ago}s`, left + (pw * i) / 5, top + ph + 5);
  }
  series.forEach((s, k) => {
    g.strokeStyle = palette[k % palette.length];
    g.lineWidth = 1.6;
    g.beginPath();
    s.points.forEach(([x, y], i) => {
      const px = left + ((x - x0) / span) * pw,
        py = top + ph - (ymax ? (y / ymax) * ph : 0);
      if (i === 0) g.moveTo(px, py);
      else g.lineTo(px, py);
    });
    g.stroke();
  });
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

async function chartsPage() {
  const windowSel = h(
    'select',
    { id: 'chart-window' },
    [
      [60, 'last minute'],
      [300, 'last 5 minutes'],
      [599, 'last 10 minutes'],
    ].map(([v, t]) => h('option', { value: v, selected: v === 300 }, t)),
  );
  const defs = [
    {
      title: 'Records per second',
      format: (v) => fmt.int(Math.round(v)),
      series: [
        ['produced', (s) => s.producedRecords],
        ['fetched', (s) => s.fetchedRecords],
      ],
    },
    {
      title: 'Bytes per second',
      format: fmt.bytes,
      series: [
        ['produced', (s) => s.producedBytes],
        ['fetched', (s) => s.fetchedBytes],
      ],
    },
    {
      title: 'Produce latency',
      format: fmt.ms,
      series: [
        ['mean', (s) => (s.produceRequests ? s.produceLatencyMsSum / s.produceRequests : 0)],
        ['max', (s) => s.produceLatencyMsMax],
      ],
    },
    {
      title: 'Fetch latency (includes long-poll wait)',
      format: fmt.ms,
      series: [
        ['mean', (s) => (s.fetchRequests ? s.fetchLatencyMsSum / s.fetchRequests : 0)],
        ['max', (s) => s.fetchLatencyMsMax],
      ],
    },
    {
      title: 'Requests per second',
      format: (v) => fmt.int(Math.round(v)),
      series: [
        ['produce', (s) => s.produceRequests],
        ['fetch', (s) => s.fetchRequests],
      ],
    },
  ];
  const panels = defs.map((d) => {
    const canvas = h('canvas');
    const now = h('span', { class: 'muted' });
    const panel = h(
      'div',
      { class: 'panel chart' },
      h(
        'h3',
        {},
        d.title,
        h(
          'span',
          { class: 'legend' },
          now,
          d.series.map(([name], k) => h('span', {}, h('i', { style: `background:${palette[k]}` }), name)),
        ),
      ),
      canvas,
    );
    return { d, canvas, now, panel };
  });
  main.append(
    h('h1', {}, 'Throughput and latency'),
    h('div', { class: 'toolbar' }, windowSel, h('span', { class: 'muted' }, 'per second, kept on the node for ten minutes')),
    h(
      'div',
      { class: 'charts', id: 'charts' },
      panels.map((p) => p.panel),
    ),
  );
  async function draw() {
    const hist = await api(`/api/history?seconds=${windowSel.value}`);
    for (const p of panels) {
      const series = p.d.series.map(([name, f]) => ({ name, points: hist.map((s) => [s.second, f(s)]) }));
      drawChart(p.canvas, series, p.d);
      const last = hist[hist.length - 1];
      p.now.textContent = last ? `now ${p.d.series.map(([, f]) => p.d.format(f(last))).join(' / ')}` : '';
    }
  }
  windowSel.addEventListener('change', draw);
  await draw();
  every(1000, draw);
}

// ---- cluster ------------------------------------------------------------------------------

// Every node of the cluster (from this node's metadata and the store's live set), the
// controller, and where each partition's actor runs: its leader node and worker thread,
// gathered from every live node.
async function clusterPage() {
  main.append(h('h1', {}, 'Cluster'));
  const cards = h('div', { class: 'cards' });
  const nodes = h('div', { id: 'cluster-nodes' });
  const placement = h('div', { id: 'cluster-placement' });
  main.append(cards, h('h2', {}, 'Nodes'), nodes, h('h2', {}, 'Partitions: leader node and worker thread, replicas and ISR'), placement);
  async function draw() {
    const [c, p] = await Promise.all([api('/api/cluster'), api('/api/cluster/placement')]);
    const live = c.nodes.filter((n) => n.state !== 'offline').length;
    cards.replaceChildren(
      ...[
        ['Cluster', c.clusterId],
        ['Controller', c.controllerId < 0 ? 'none elected' : `node ${c.controllerId}`],
        ['Metadata store', c.metadataStore],
        ['Metadata version', c.metadataOffset],
        ['Nodes live', `${live} of ${c.nodes.length}`],
        ['Partitions', c.partitions],
        ['Under-replicated partitions', c.underReplicatedPartitions ?? 0, 'under-replicated', (c.underReplicatedPartitions ?? 0) > 0 ? 'warn-text' : ''],
        ['Offline partitions', c.offlinePartitions, 'offline', c.offlinePartitions > 0 ? 'bad-text' : ''],
      ].map(([label, value, id, cls]) =>
        h('div', { class: 'card', id: id ? `card-${id}` : undefined }, h('div', { class: 'label' }, label), h('div', { class: `value ${cls ?? ''}`.trim() }, value)),
      ),
    );
    replace(
      nodes,
      table(
        [
          { title: 'Node', cell: (n) => String(n.nodeId) },
          { title: 'State', cell: (n) => h('span', { class: `chip ${n.state}` }, n.state) },
          { title: 'Controller', cell: (n) => (n.controller ? 'yes' : '') },
          { title: 'Rack', cell: (n) => n.rack ?? '–' },
          { title: 'Leaders', num: true, cell: (n) => String(n.leaderships) },
          { title: 'Replicas', num: true, cell: (n) => String(n.replicas ?? 0) },
          { title: 'Under-replicated (led)', num: true, cell: (n) => (n.underReplicated ? h('span', { class: 'warn-text' }, n.underReplicated) : '0') },
          { title: 'Kafka address', cell: (n) => (n.port >= 0 ? `${n.host}:${n.port}` : '–') },
          { title: 'Console', cell: (n) => (n.httpPort >= 0 ? h('a', { href: `http://${n.host}:${n.httpPort}/` }, `${n.host}:${n.httpPort}`) : '–') },
        ],
        c.nodes,
        { id: 'cluster-nodes-table', attrs: (n) => ({ 'data-node': n.nodeId }) },
      ),
    );
    replace(
      placement,
      h(
        'div',
        {},
        p.unreachable.length ? h('p', { class: 'muted' }, `no answer from node(s) ${p.unreachable.join(', ')}: their threads are unknown`) : '',
        table(
          [
            { title: 'Topic', cell: (r) => r.topic },
            { title: 'Partition', num: true, cell: (r) => String(r.partition) },
            { title: 'Leader node', cell: (r) => (r.leader < 0 ? h('span', { class: 'error-text' }, 'offline') : `node ${r.leader}`) },
            { title: 'Thread', cell: (r) => (r.threadIndex === null ? '–' : `thread ${r.threadIndex}`) },
            { title: 'Epoch', num: true, cell: (r) => String(r.leaderEpoch) },
            { title: 'Replicas', cell: (r) => h('span', { class: 'mono nowrap' }, r.replicas.join(', ')) },
            { title: 'ISR', cell: isrCell },
            { title: 'Status', cell: replicaStatus },
          ],
          p.partitions,
          { id: 'cluster-placement-table', attrs: (r) => ({ 'data-topic': r.topic, 'data-partition': r.partition }) },
        ),
      ),
    );
  }
  await draw();
  every(refreshMs, draw);
}

// ---- router ------------------------------------------------------------------------------

const pages = {
  overview: overviewPage,
  cluster: clusterPage,
  actors: actorsPage,
  topics: topicsPage,
  messages: messagesPage,
  tail: tailPage,
  groups: groupsPage,
  charts: chartsPage,
};

async function route() {
  for (const f of cleanup) f();
  cleanup = [];
  const [name = 'overview', ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = pages[name] ?? overviewPage;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === (pages[name] ? name : 'overview'));
  main.replaceChildren();
  main.dataset.page = name;
  try {
    await page(...args.filter(Boolean));
  } catch (err) {
    main.append(h('p', { class: 'error-text' }, `could not load: ${err.message}`));
  }
  main.dataset.ready = name;
}

window.addEventListener('hashchange', route);
route();
api('/api/overview')
  .then((o) => {
    document.getElementById('node-badge').textContent = `node ${o.nodeId} · ${o.listener}`;
  })
  .catch(() => {});

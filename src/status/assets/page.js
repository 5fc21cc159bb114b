// The status page's script: polls /status.json every REFRESH_MS and renders it, and runs the live
// tail over the relay's CloudEvents listener. Plain DOM, no framework, no build step. Everything
// that came from the relay is written with textContent, never as HTML: a link's reason is an
// upstream's close reason, and an event is whatever an upstream sent.
'use strict';

const REFRESH_MS = 2000;
/** Lines the tail keeps; older ones scroll away. */
const TAIL_LINES = 200;

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells, numeric = []) {
  const tr = el('tr');
  cells.forEach((c, i) => {
    const td = c instanceof Node ? el('td') : el('td', c);
    if (c instanceof Node) td.append(c);
    if (numeric.includes(i)) td.className = 'num';
    tr.append(td);
  });
  return tr;
}

/** Replaces a tbody's rows; `empty` is shown as one row when there are none. */
function fill(id, rows, empty, columns) {
  const body = $(id);
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const td = el('td', empty, 'empty');
    td.colSpan = columns;
    const tr = el('tr');
    tr.append(td);
    body.append(tr);
  }
}

const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
const perSecond = (r) => (r.perSecond === null ? '—' : fmt.format(r.perSecond));

function ago(since) {
  const t = typeof since === 'number' ? since : Date.parse(since);
  if (!Number.isFinite(t)) return String(since);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function stateBadge(state) {
  const ok = state === 'ready' || state === 'connected';
  const idle = state === 'standby' || state === 'idle' || state === 'connecting' || state === 'authenticating';
  return el('span', state, `badge ${ok ? 'ok' : idle ? 'wait' : 'bad'}`);
}

function render(s) {
  const up = s.links.filter((l) => l.state === 'ready').length;
  $('summary').replaceChildren(
    el('span', `node ${s.node}`), ' · ', el('span', `version ${s.version}`), ' · ',
    stateBadge(s.ready ? 'ready' : s.reason || 'not ready'), ' · ',
    el('span', `bus ${s.bus.kind} `), stateBadge(s.bus.state),
    s.bus.lastError ? el('span', ` (${s.bus.lastError})`) : '', ' · ',
    el('span', `${up}/${s.links.length} links ready · ${s.dashboards.total} ${s.dashboards.total === 1 ? 'dashboard' : 'dashboards'}`),
    ' · ', el('span', `updated ${new Date(s.time).toLocaleTimeString()}`, 'updated'),
  );

  // Owner and since come with cluster leases; a single node has neither, and shows no empty columns.
  $('links-table').classList.toggle('no-owner', !s.links.some((l) => l.owner !== undefined || l.since !== undefined || l.ownership !== undefined));
  fill('links', s.links.map((l) => {
    const since = l.since === undefined ? '' : el('time', ago(l.since));
    if (since) since.dateTime = new Date(typeof l.since === 'number' ? l.since : Date.parse(l.since)).toISOString();
    const tr = row([l.upstream, l.protocol ?? '', `${l.resource} ${l.id}`, stateBadge(l.state), l.reason, l.owner ?? (l.ownership ? `(${l.ownership})` : ''), since]);
    tr.dataset.state = l.state;
    return tr;
  }), 'No upstream links configured.', 7);

  const rates = (byKey) => Object.entries(byKey).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, r]) => row([k, fmt.format(r.total), perSecond(r)], [1, 2]));
  const total = (r) => { const tr = row(['all', fmt.format(r.total), perSecond(r)], [1, 2]); tr.className = 'total'; return tr; };
  fill('events-in', [...rates(s.events.in.byUpstream), total(s.events.in)], 'No events yet.', 3);
  fill('events-out', [...rates(s.events.out.byDialect), total(s.events.out)], 'No deliveries yet.', 3);
  $('window').textContent = s.events.windowSeconds === null
    ? 'Per-second rates appear from the next refresh (they compare two samples).'
    : `Per-second rates over the last ${s.events.windowSeconds} s.`;

  fill('listeners', s.listeners.map((l) => row([l.name, l.dialect, el('code', l.path), l.upstreams.join(', '), s.dashboards.byDialect[l.dialect] ?? 0], [4])), 'No listeners.', 5);
  const counted = (list, keys) => list.map((c) => row([...keys.map((k) => c.labels[k] ?? ''), fmt.format(c.count)], [keys.length]));
  fill('drops', counted(s.drops, ['reason', 'dialect', 'direction']), 'None.', 4);
  fill('auth', counted(s.authFailures, ['reason', 'dialect', 'direction']), 'None.', 4);
  fill('limits', counted(s.limitHits, ['limit']), 'None.', 2);
  fill('refused', counted(s.refused, ['kind', 'code']), 'None.', 3);

  tail.where = s.tail;
  if (!tail.socket) describeTailTarget();
}

async function refresh() {
  let body;
  try {
    const res = await fetch('/status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    document.body.classList.add('stale');
    $('summary').textContent = `The relay does not answer /status.json (${err.message}); retrying every ${REFRESH_MS / 1000} s.`;
    return;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
  document.body.classList.remove('stale');
  // A rendering bug is not the relay's fault: it surfaces as a page error, not as "not answering".
  render(body);
}

// ---- live tail -------------------------------------------------------------------------------

/** `pending`: what to subscribe once the relay has answered the key. */
const tail = { where: null, socket: null, authed: false, subjects: [], pending: [] };

function describeTailTarget() {
  const w = tail.where;
  $('tail-where').textContent = w
    ? `Events of ${w.upstreams.join(', ')} through the CloudEvents listener at ${w.path}, with the grants of the key you enter.`
    : 'This relay has no CloudEvents listener, so there is nothing to tail.';
  $('tail-start').disabled = !w;
  if (w && w.upstreams.length > 0) $('tail-subject').placeholder = `e.g. ${w.upstreams[0]}.*.*.console`;
}

function tailState(text) {
  $('tail-state').textContent = text;
}

function tailLine(parts, cls) {
  const li = el('li', undefined, cls);
  for (const [text, c] of parts) li.append(el('span', text, c));
  const list = $('tail');
  list.append(li);
  while (list.childElementCount > TAIL_LINES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

/** One line of text for an event's data: a console line as it is, anything else as short JSON. */
function summary(data) {
  if (data && typeof data === 'object') {
    for (const k of ['line', 'message', 'content']) if (typeof data[k] === 'string') return data[k];
  }
  // One line per event: the full event is one subscription away for anyone who needs it.
  const json = JSON.stringify(data) ?? '';
  return json.length > 200 ? `${json.slice(0, 199)}…` : json;
}

function onTailMessage(msg) {
  let m;
  try {
    m = JSON.parse(msg.data);
  } catch {
    return tailLine([['(a frame that is not JSON)', 'type']], 'error');
  }
  if (m.specversion) {
    const upstream = String(m.source ?? '').replace(/^bridge:\/\//, '');
    const time = new Date(m.time);
    return tailLine([
      [Number.isFinite(time.getTime()) ? time.toLocaleTimeString() : '', 'time'],
      [m.type, 'type'],
      [`${upstream} ${m.subject ?? ''}`, 'subject'],
      [summary(m.data), 'data'],
    ]);
  }
  if (m.op === 'authenticated') {
    tail.authed = true;
    return subscribe(tail.pending);
  }
  if (m.op === 'error' && m.code === 'BRIDGE_ERR_UNAUTHORIZED' && !m.subject) {
    stopTail();
    return tailState('The relay refused that key. Enter a client key to start.');
  }
  if (m.op === 'error') return tailLine([[m.code, 'type'], [`${m.subject ? `${m.subject}: ` : ''}${m.message}`, 'data']], 'error');
  if (m.op === 'subscribed') return tailState(`Tailing ${tail.subjects.join(', ')}.`);
}

function subjectsFor(input) {
  const typed = input.trim();
  return typed ? [typed] : tail.where.upstreams.map((u) => `${u}.>`);
}

function subscribe(subjects) {
  for (const s of tail.subjects) tail.socket.send(JSON.stringify({ op: 'unsubscribe', subject: s }));
  tail.subjects = subjects;
  for (const s of subjects) tail.socket.send(JSON.stringify({ op: 'subscribe', subject: s }));
}

function startTail(key, subjects) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${tail.where.path}`;
  const ws = new WebSocket(url);
  tail.socket = ws;
  tailState('Connecting…');
  ws.onopen = () => {
    // Browsers cannot set headers on a WebSocket: the key goes in the first frame, and only there.
    ws.send(JSON.stringify({ op: 'auth', key }));
    // Dropping the handler drops the only closure that held the key.
    ws.onopen = null;
    tailState('Authenticating…');
  };
  tail.pending = subjects;
  // Frames still in flight from a socket the page has let go are not shown.
  ws.onmessage = (msg) => tail.socket === ws && onTailMessage(msg);
  ws.onclose = (e) => {
    if (tail.socket !== ws) return;
    tail.socket = null;
    tail.authed = false;
    tail.subjects = [];
    tailState(`Stopped${e.code ? ` (close ${e.code}${e.reason ? `: ${e.reason}` : ''})` : ''}. Enter the key again to restart.`);
    $('tail-key').required = true;
    $('tail-start').textContent = 'Start';
    $('tail-stop').disabled = true;
    describeTailTarget();
  };
  $('tail-key').required = false;
  $('tail-start').textContent = 'Apply subject';
  $('tail-stop').disabled = false;
}

function onTailSubmit(e) {
  e.preventDefault();
  if (!tail.where) return;
  const keyInput = $('tail-key');
  const key = keyInput.value;
  // The key leaves the page's state at once: it is in one frame of one socket, and nowhere else.
  keyInput.value = '';
  const subjects = subjectsFor($('tail-subject').value);
  if (tail.socket && !key) {
    if (tail.authed) return subscribe(subjects);
    tail.pending = subjects;
    return;
  }
  if (tail.socket) stopTail();
  if (!key) return tailState('Enter a client key first.');
  startTail(key, subjects);
}

function stopTail() {
  const ws = tail.socket;
  if (!ws) return;
  ws.onclose({ code: 0 });
  ws.close(1000, 'stopped from the status page');
}

document.addEventListener('DOMContentLoaded', () => {
  $('tail-form').addEventListener('submit', onTailSubmit);
  $('tail-stop').addEventListener('click', stopTail);
  describeTailTarget();
  refresh();
});

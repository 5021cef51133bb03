/* berth's web console: plain JS on the Engine API of the daemon that serves it.
 * Every text goes in through textContent (never innerHTML), and every style is
 * in style.css, so the page runs under a strict Content-Security-Policy. */
'use strict';

const API = '/v1.52';
const WINDOW_S = 180;     /* seconds of history kept by the plots */
let view = null;          /* { ctl: AbortController, onEvent(ev) } of the current view */
const events = [];        /* the last events, newest last */

/* ---- helpers ---- */
function h(tag, attrs, ...kids) {
  const svg = ['svg', 'polyline', 'line', 'rect', 'text', 'g'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) el.append(kid);
  return el;
}
const short = (id) => (id || '').replace(/^sha256:/, '').slice(0, 12);
const cname = (c) => ((c.Names && c.Names[0]) || short(c.Id)).replace(/^\//, '');
function bytes(n) {
  if (!isFinite(n)) return '–';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : Math.round(n)) + ' ' + u[i];
}
function ago(sec) {
  const s = Math.max(0, Date.now() / 1000 - sec);
  if (s < 60) return Math.floor(s) + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}
function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}
async function api(path, opts = {}) {
  /* reads end with their view; an action runs to its end even when the view re-renders under it */
  const r = await fetch(API + path, { signal: opts.method ? null : view && view.ctl.signal, ...opts });
  if (r.status === 204 || r.status === 304) return null;
  const body = await r.text();
  let j = null;
  try { j = body ? JSON.parse(body) : null; } catch (e) { j = null; }
  if (!r.ok) throw new Error((j && j.message) || r.status + ' ' + r.statusText);
  return j;
}
/* Reads a streamed response, calling onBytes with each chunk, until it ends or the view changes. */
async function stream(path, onBytes, signal) {
  const r = await fetch(API + path, { signal });
  if (!r.ok) throw new Error((await r.text()) || r.statusText);
  const rd = r.body.getReader();
  for (;;) {
    const { value, done } = await rd.read();
    if (done) return;
    onBytes(value);
  }
}
/* Newline-delimited JSON (stats, events). */
function jsonLines(onObj) {
  const dec = new TextDecoder();
  let buf = '';
  return (chunk) => {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) { try { onObj(JSON.parse(line)); } catch (e) { /* a torn line: skip */ } }
    }
  };
}
/* Docker's multiplexed stream: 8-byte headers [stream, 0, 0, 0, size (big endian)] then the payload. */
function demux(onFrame) {
  let buf = new Uint8Array(0);
  const dec = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
  return (chunk) => {
    const n = new Uint8Array(buf.length + chunk.length);
    n.set(buf); n.set(chunk, buf.length); buf = n;
    while (buf.length >= 8) {
      const size = ((buf[4] << 24) >>> 0) + (buf[5] << 16) + (buf[6] << 8) + buf[7];
      if (buf.length < 8 + size) break;
      const s = buf[0] === 2 ? 2 : 1;
      onFrame(s, dec[s].decode(buf.subarray(8, 8 + size), { stream: true }));
      buf = buf.slice(8 + size);
    }
  };
}
function confirmAction(text) {
  const d = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  d.returnValue = '';
  d.showModal();
  return new Promise((res) => d.addEventListener('close', () => res(d.returnValue === 'ok'), { once: true }));
}
async function act(label, fn) {
  if (!(await confirmAction(label + '?'))) return;
  try { await fn(); toast(label + ': done'); } catch (e) { toast(label + ': ' + e.message); }
  if (view && view.refresh) view.refresh();
}
const containerAction = (c, verb) => act(verb + ' ' + cname(c), async () => {
  if (verb !== 'remove') return api('/containers/' + c.Id + '/' + verb, { method: 'POST' });
  await api('/containers/' + c.Id + '?force=1', { method: 'DELETE' });
  if (location.hash.startsWith('#/container/')) location.hash = '#/containers';
});
function actions(c) {
  const running = c.State === 'running' || c.State === 'restarting' || c.State === 'paused';
  return h('span', {}, (running ? ['stop', 'restart'] : ['start']).concat(['remove']).map((v) =>
    h('button', { 'data-action': v, class: v === 'remove' ? 'danger' : null, onclick: () => containerAction(c, v), text: v })));
}
const table = (heads, rows) => h('div', { class: 'scroll' }, h('table', {},
  h('thead', {}, h('tr', {}, heads.map((x) => h('th', { class: x.endsWith('.') ? 'hide-narrow' : null, text: x.replace(/\.$/, '') })))),
  h('tbody', {}, rows)));
const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter((p) => p[1] !== undefined && p[1] !== '')
  .map(([k, v]) => [h('dt', { text: k }), h('dd', {}, typeof v === 'object' ? v : String(v))]));
function ports(c) {
  return (c.Ports || []).map((p) => (p.PublicPort ? (p.IP && p.IP !== '0.0.0.0' ? p.IP + ':' : '') + p.PublicPort + '→' : '') +
    p.PrivatePort + '/' + p.Type).filter((v, i, a) => a.indexOf(v) === i).join(', ');
}
function health(c) {
  const s = (c.Health && c.Health.Status) || ((c.Status || '').match(/\((healthy|unhealthy|health: starting)\)/) || [])[1];
  return s && s !== 'none' ? h('span', { class: 'badge ' + s.replace('health: ', ''), text: s.replace('health: ', '') }) : '';
}

/* ---- plots: hand-made SVG line charts over the last WINDOW_S seconds ---- */
function chart(id, title, names, fmt) {
  const svg = h('svg', { class: 'chart', id, viewBox: '0 0 300 100', preserveAspectRatio: 'none', 'data-points': '0' });
  const cur = h('span', { text: '–' });
  const series = names.map((n, i) => ({ name: n, pts: [], line: h('polyline', { class: 's' + i, points: '' }) }));
  for (const y of [25, 50, 75]) svg.append(h('line', { class: 'grid', x1: 0, x2: 300, y1: y, y2: y }));
  series.forEach((s) => svg.append(s.line));
  const el = h('div', { class: 'plot card' }, h('h3', {}, title, cur), svg,
    names.length > 1 ? h('div', { class: 'legend' }, names.map((n, i) => [h('i', { class: 's' + i }), n])) : null);
  return {
    el,
    add(t, values) {
      values.forEach((v, i) => { if (isFinite(v)) series[i].pts.push([t, v]); });
      for (const s of series) while (s.pts.length && s.pts[0][0] < t - WINDOW_S) s.pts.shift();
      const max = Math.max(1e-9, ...series.flatMap((s) => s.pts.map((p) => p[1]))) * 1.15;
      /* the x axis grows with the history, from 20 s up to WINDOW_S */
      const span = Math.max(20, t - Math.min(...series.map((s) => (s.pts[0] || [t])[0])));
      for (const s of series)
        s.line.setAttribute('points', s.pts.map(([pt, v]) =>
          ((pt - (t - span)) / span * 300).toFixed(1) + ',' + (100 - v / max * 100).toFixed(1)).join(' '));
      svg.setAttribute('data-points', String(series[0].pts.length));
      cur.textContent = names.map((n, i) => (names.length > 1 ? n + ' ' : '') + fmt(values[i])).join(' · ') + ' (max ' + fmt(max / 1.15) + ')';
    },
  };
}
function statsSampler(charts) {
  let prev = null;
  return (s) => {
    const t = Date.parse(s.read) / 1000 || Date.now() / 1000;
    const cpu = s.cpu_stats || {}, pre = s.precpu_stats || {};
    const dc = ((cpu.cpu_usage || {}).total_usage || 0) - ((pre.cpu_usage || {}).total_usage || 0);
    const ds = (cpu.system_cpu_usage || 0) - (pre.system_cpu_usage || 0);
    const ncpu = cpu.online_cpus || ((cpu.cpu_usage || {}).percpu_usage || [1]).length;
    charts.cpu.add(t, [ds > 0 && dc >= 0 ? dc / ds * ncpu * 100 : 0]);
    const m = s.memory_stats || {}, ms = m.stats || {};
    charts.mem.add(t, [(m.usage || 0) - (ms.inactive_file || ms.total_inactive_file || 0)]);
    let rx = 0, tx = 0, rd = 0, wr = 0;
    for (const n of Object.values(s.networks || {})) { rx += n.rx_bytes || 0; tx += n.tx_bytes || 0; }
    for (const e of ((s.blkio_stats || {}).io_service_bytes_recursive || [])) {
      const op = (e.op || '').toLowerCase();
      if (op === 'read') rd += e.value; else if (op === 'write') wr += e.value;
    }
    if (prev && t > prev.t) {
      const dt = t - prev.t;
      charts.net.add(t, [(rx - prev.rx) / dt, (tx - prev.tx) / dt].map((v) => Math.max(0, v)));
      charts.blk.add(t, [(rd - prev.rd) / dt, (wr - prev.wr) / dt].map((v) => Math.max(0, v)));
    }
    prev = { t, rx, tx, rd, wr };
  };
}

/* ---- views ---- */
const views = {
  async containers(main) {
    const list = await api('/containers/json?all=1');
    main.replaceChildren(h('h1', { text: 'Containers (' + list.length + ')' }), h('div', { class: 'card' },
      list.length ? table(['Name', 'State', 'Image', 'Ports.', 'Health', 'Status.', ''], list.map((c) =>
        h('tr', { 'data-name': cname(c), 'data-state': c.State },
          h('td', {}, h('a', { href: '#/container/' + c.Id, text: cname(c) })),
          h('td', {}, h('span', { class: 'badge ' + c.State, text: c.State })),
          h('td', { class: 'mono', text: c.Image }),
          h('td', { class: 'mono hide-narrow', text: ports(c) }),
          h('td', {}, health(c)),
          h('td', { class: 'hide-narrow', text: c.Status }),
          h('td', {}, actions(c)))))
        : h('p', { class: 'muted', text: 'No containers.' })));
    view.onEvent = (ev) => { if (ev.Type === 'container') view.soon(); };
    view.every(5000);
  },

  async container(main, id) {
    const c = await api('/containers/' + encodeURIComponent(id) + '/json');
    const name = c.Name.replace(/^\//, '');
    const summary = { Id: c.Id, Names: [c.Name], State: c.State.Status };
    const nets = Object.entries((c.NetworkSettings || {}).Networks || {}).map(([n, v]) => n + (v.IPAddress ? ' ' + v.IPAddress : '')).join(', ');
    const portsText = Object.entries((c.NetworkSettings || {}).Ports || {}).map(([p, b]) =>
      (b || []).map((x) => (x.HostIp || '') + ':' + x.HostPort + '→').join('') + p).join(', ');
    const charts = {
      cpu: chart('plot-cpu', 'CPU', ['cpu'], (v) => (v || 0).toFixed(1) + ' %'),
      mem: chart('plot-mem', 'Memory', ['used'], bytes),
      net: chart('plot-net', 'Network', ['rx/s', 'tx/s'], bytes),
      blk: chart('plot-blk', 'Block I/O', ['read/s', 'write/s'], bytes),
    };
    const logs = h('pre', { id: 'logs' });
    main.replaceChildren(
      h('h1', {}, name, ' ', h('span', { class: 'badge ' + c.State.Status, id: 'state', text: c.State.Status })),
      h('div', { class: 'toolbar' }, actions(summary)),
      h('div', { class: 'plots' }, Object.values(charts).map((x) => x.el)),
      h('h2', { text: 'Logs' }), logs,
      h('h2', { text: 'Configuration' }),
      h('div', { class: 'card' }, kv([
        ['ID', h('span', { class: 'mono', text: c.Id })], ['Image', c.Config.Image], ['Command', (c.Path + ' ' + (c.Args || []).join(' ')).trim()],
        ['Created', c.Created], ['Started', c.State.Running ? c.State.StartedAt : ''], ['Exit code', c.State.Running ? '' : c.State.ExitCode],
        ['Health', c.State.Health ? c.State.Health.Status : ''], ['Restart policy', (c.HostConfig.RestartPolicy || {}).Name],
        ['Networks', nets], ['Ports', portsText], ['Working dir', c.Config.WorkingDir],
        ['Mounts', (c.Mounts || []).map((m) => (m.Name || m.Source) + ' → ' + m.Destination + (m.RW ? '' : ' (ro)')).join(', ')],
        ['Environment', h('span', { class: 'mono', text: (c.Config.Env || []).join('\n') })],
        ['Labels', Object.entries(c.Config.Labels || {}).map(([k, v]) => k + '=' + v).join(', ')],
      ])));
    const signal = view.ctl.signal;
    if (c.State.Running)
      stream('/containers/' + c.Id + '/stats?stream=1', jsonLines(statsSampler(charts)), signal).catch(() => {});
    const addLog = (s, text) => {
      const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.append(h('span', { class: s === 2 ? 'err' : null, text }));
      while (logs.childNodes.length > 2000) logs.firstChild.remove();
      if (atEnd) logs.scrollTop = logs.scrollHeight;
    };
    const tdec = new TextDecoder();
    stream('/containers/' + c.Id + '/logs?follow=1&stdout=1&stderr=1&tail=500', c.Config.Tty
      ? (chunk) => addLog(1, tdec.decode(chunk, { stream: true })) : demux(addLog), signal).catch(() => {});
    view.onEvent = (ev) => {
      if (ev.Type === 'container' && ev.id === c.Id && ['start', 'die', 'destroy', 'pause', 'unpause'].includes(ev.Action)) view.soon();
    };
  },

  async images(main) {
    const [imgs, ctrs] = await Promise.all([api('/images/json'), api('/containers/json?all=1')]);
    const users = (img) => ctrs.filter((c) => c.ImageID === img.Id).map(cname);
    main.replaceChildren(h('h1', { text: 'Images (' + imgs.length + ')' }),
      h('div', { class: 'toolbar' }, h('button', { 'data-action': 'prune', onclick: () => act('prune unused images',
        () => api('/images/prune?filters=' + encodeURIComponent('{"dangling":["false"]}'), { method: 'POST' })), text: 'Prune unused' })),
      h('div', { class: 'card' }, table(['Tags', 'ID.', 'Size', 'Created.', 'Used by', ''], imgs.map((img) => {
        const row = h('tr', { 'data-id': img.Id },
          h('td', { class: 'mono', text: (img.RepoTags || []).filter((t) => t !== '<none>:<none>').join(', ') || '<none>' }),
          h('td', { class: 'mono hide-narrow', text: short(img.Id) }),
          h('td', { class: 'num', text: bytes(img.Size) }),
          h('td', { class: 'hide-narrow', text: ago(img.Created) }),
          h('td', { text: users(img).join(', ') }),
          h('td', {}, h('button', { onclick: () => history(row, img), text: 'history' }),
            h('button', { class: 'danger', onclick: () => act('remove image ' + ((img.RepoTags || [])[0] || short(img.Id)),
              () => api('/images/' + img.Id, { method: 'DELETE' })), text: 'remove' })));
        return row;
      }))));
    async function history(row, img) {
      if (row.nextSibling && row.nextSibling.classList.contains('sub')) return row.nextSibling.remove();
      const hist = await api('/images/' + img.Id + '/history');
      row.after(h('tr', { class: 'sub' }, h('td', { colspan: 6 }, table(['Created by', 'Size', 'Created.'], hist.map((l) =>
        h('tr', {}, h('td', { class: 'mono', text: l.CreatedBy || l.Comment || '' }), h('td', { class: 'num', text: bytes(l.Size) }),
          h('td', { class: 'hide-narrow', text: ago(l.Created) })))))));
    }
    view.onEvent = (ev) => { if (ev.Type === 'image') view.soon(); };
  },

  async networks(main) {
    const [nets, vols, ctrs] = await Promise.all([api('/networks'), api('/volumes'), api('/containers/json?all=1')]);
    const full = await Promise.all(nets.map((n) => api('/networks/' + n.Id).catch(() => n)));
    const byId = Object.fromEntries(ctrs.map((c) => [c.Id, c]));
    const netRows = full.map((n) => h('tr', { 'data-name': n.Name },
      h('td', { text: n.Name }), h('td', { text: n.Driver }),
      h('td', { class: 'mono', text: ((n.IPAM || {}).Config || []).map((x) => x.Subnet).filter(Boolean).join(', ') }),
      h('td', {}, Object.entries(n.Containers || {}).map(([id, e]) => h('div', {},
        h('a', { href: '#/container/' + id, text: byId[id] ? cname(byId[id]) : e.Name || short(id) }),
        h('span', { class: 'muted mono', text: ' ' + (e.IPv4Address || '') }))))));
    const volUsers = (v) => ctrs.filter((c) => (c.Mounts || []).some((m) => m.Name === v.Name)).map((c) => h('div', {},
      h('a', { href: '#/container/' + c.Id, text: cname(c) }),
      h('span', { class: 'muted mono', text: ' at ' + c.Mounts.find((x) => x.Name === v.Name).Destination })));
    const volRows = (vols.Volumes || []).map((v) => h('tr', { 'data-name': v.Name },
      h('td', { class: 'mono', text: v.Name.length > 24 ? short(v.Name) + '…' : v.Name }), h('td', { text: v.Driver }),
      h('td', { class: 'mono hide-narrow', text: v.Mountpoint }), h('td', {}, volUsers(v))));
    main.replaceChildren(h('h1', { text: 'Networks' }), h('div', { class: 'card' }, table(['Name', 'Driver', 'Subnet', 'Containers'], netRows)),
      h('h1', { text: 'Volumes' }), h('div', { class: 'card' }, table(['Name', 'Driver', 'Mountpoint.', 'Used by'], volRows)));
    view.onEvent = (ev) => { if (['network', 'volume', 'container'].includes(ev.Type)) view.soon(); };
  },

  async events(main) {
    const ul = h('ul', { class: 'events', id: 'event-list' });
    const line = (ev) => h('li', {}, h('span', { class: 'muted mono', text: new Date((ev.timeNano / 1e6) || ev.time * 1000).toLocaleTimeString() + ' ' }),
      h('span', { class: 'badge', text: ev.Type }), ' ' + ev.Action + ' ',
      h('span', { class: 'mono', text: ((ev.Actor || {}).Attributes || {}).name || short((ev.Actor || {}).ID) }));
    events.slice().reverse().forEach((ev) => ul.append(line(ev)));
    main.replaceChildren(h('h1', { text: 'Events' }), h('div', { class: 'card' }, ul,
      events.length ? null : h('p', { class: 'muted', id: 'no-events', text: 'Waiting for events…' })));
    view.onEvent = (ev) => {
      const none = document.getElementById('no-events');
      if (none) none.remove();
      ul.prepend(line(ev));
      while (ul.childNodes.length > 500) ul.lastChild.remove();
    };
  },

  async host(main) {
    const [info, df] = await Promise.all([api('/info'), api('/system/df')]);
    const bars = (rows) => {
      const max = Math.max(1, ...rows.map((r) => r[1]));
      const svg = h('svg', { class: 'bars', viewBox: '0 0 400 ' + rows.length * 28 });
      rows.forEach(([label, v, text], i) => svg.append(h('g', {},
        h('text', { x: 0, y: i * 28 + 17, text: label }),
        h('rect', { class: 'track', x: 110, y: i * 28 + 5, width: 200, height: 16, rx: 3 }),
        h('rect', { class: 's' + (i % 3), x: 110, y: i * 28 + 5, width: Math.max(1, v / max * 200).toFixed(1), height: 16, rx: 3 }),
        h('text', { x: 318, y: i * 28 + 17, text: text }))));
      return svg;
    };
    const sum = (a, f) => (a || []).reduce((s, x) => s + Math.max(0, f(x) || 0), 0);
    const imgSize = sum(df.Images, (i) => i.Size), ctrSize = sum(df.Containers, (c) => c.SizeRw);
    const volSize = sum(df.Volumes, (v) => (v.UsageData || {}).Size), cacheSize = sum(df.BuildCache, (b) => b.Size);
    main.replaceChildren(h('h1', { text: info.Name || 'Host' }),
      h('div', { class: 'plots' },
        h('div', { class: 'card' }, h('h2', { text: 'Containers' }), bars([['running', info.ContainersRunning, String(info.ContainersRunning)],
          ['paused', info.ContainersPaused, String(info.ContainersPaused)], ['stopped', info.ContainersStopped, String(info.ContainersStopped)]])),
        h('div', { class: 'card' }, h('h2', { text: 'Disk usage' }), bars([['images', imgSize, bytes(imgSize)],
          ['containers', ctrSize, bytes(ctrSize)], ['volumes', volSize, bytes(volSize)], ['build cache', cacheSize, bytes(cacheSize)]]))),
      h('div', { class: 'card' }, kv([['Server version', info.ServerVersion], ['Kernel', info.KernelVersion], ['OS', info.OperatingSystem],
        ['Architecture', info.Architecture], ['CPUs', info.NCPU], ['Memory', bytes(info.MemTotal)], ['Storage driver', info.Driver],
        ['Cgroup', (info.CgroupVersion ? 'v' + info.CgroupVersion + ' ' : '') + (info.CgroupDriver || '')], ['Images', info.Images],
        ['Data root', info.DockerRootDir]])));
    view.onEvent = (ev) => { if (['container', 'image', 'volume'].includes(ev.Type)) view.soon(); };
    view.every(10000);
  },
};

/* ---- routing: #/name/arg; a new view aborts the streams of the old one ---- */
async function route() {
  if (view) { view.ctl.abort(); clearInterval(view.timer); clearTimeout(view.pending); }
  const [name, arg] = location.hash.replace(/^#\/?/, '').split('/');
  const key = views[name] ? name : 'containers';
  const me = view = { ctl: new AbortController(), onEvent: null };
  me.refresh = () => { if (view === me) render(); };
  me.soon = () => { clearTimeout(me.pending); me.pending = setTimeout(me.refresh, 300); };
  me.every = (ms) => { if (!me.timer) me.timer = setInterval(me.refresh, ms); };
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === (key === 'container' ? 'containers' : key)));
  const main = document.getElementById('view');
  async function render() {
    const y = window.scrollY;
    try {
      if (key === 'container') {   /* re-rendered on start/die: its old stats and logs streams end */
        me.ctl.abort(); me.ctl = new AbortController();
      }
      await views[key](main, arg && decodeURIComponent(arg));
      window.scrollTo(0, y);
    } catch (e) {
      if (e.name !== 'AbortError' && view === me) main.replaceChildren(h('p', { class: 'muted', text: 'Error: ' + e.message }));
    }
  }
  await render();
}
/* One events stream for the whole page: it feeds the Events view and tells the others to refresh. */
const loaded = Date.now() / 1000;
function watchEvents() {
  const since = Math.floor(events.length ? events[events.length - 1].time + 1 : loaded - 600);
  stream('/events?since=' + since, jsonLines((ev) => {
    events.push(ev);
    if (events.length > 500) events.shift();
    if (ev.time >= Math.floor(loaded) && view && view.onEvent) view.onEvent(ev);  /* not the replayed past */
  })).catch(() => {}).finally(() => setTimeout(watchEvents, 3000));
}
window.addEventListener('hashchange', route);
route();
watchEvents();

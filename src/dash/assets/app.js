// salespipe dashboard: one page, hash routes, live numbers by polling /_salespipe/api/health.
// No dependencies; everything is built with DOM calls (text, never HTML from data).
'use strict';

const API = 'api/';
const POLL_MS = 1000;
const HISTORY = 300; // samples kept for the plots (5 minutes at one a second)
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

let health = null;      // latest health document
let config = null;      // names of the configured resources, from the first health
const samples = [];     // {t, table, stream, piped, delivered, objects, lag, backlog, p50, p99}

function h(tag, attrs, ...kids) {
  const svg = ['svg', 'g', 'rect', 'text', 'path', 'line', 'defs', 'marker', 'a', 'tspan'].includes(tag) &&
      (attrs && attrs._svg);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === '_svg' || v === undefined || v === null) continue;
    if (k === 'onclick' || k === 'onsubmit' || k === 'onchange') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}
const s = (tag, attrs, ...kids) => h(tag, Object.assign({_svg: true}, attrs), ...kids);

async function getJSON(path) {
  const r = await fetch(API + path, {headers: {'Accept': 'application/json'}});
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

const fmt = n => (n === undefined || n === null) ? '–' :
  (typeof n === 'number' ? (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1)) : String(n));
const bytes = n => n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B';
const first = o => o ? Object.entries(o)[0] || [null, {}] : [null, {}];
const sum = (o, f) => Object.values(o || {}).reduce((a, x) => a + (x[f] || 0), 0);
const svc = name => (health && health.services && health.services[name]) || {};
const enc = encodeURIComponent;

// ---- the pipeline picture ---------------------------------------------------------------

// The ten seed steps: what each box shows, where it links, and how healthy it is.
function steps() {
  const [tname, t] = first(svc('dynamodb').tables);
  const [sname, st] = first(svc('kinesis').streams);
  const [pname, p] = first((svc('pipes').pipes));
  const [dname, d] = first(svc('firehose').delivery_streams);
  const [cname, c] = first(svc('catalog').crawlers);
  const fh = svc('firehose');
  const [bname, b] = first(svc('s3').buckets);
  const running = name => svc(name).running;
  const shards = Object.entries((st || {}).shards || {});
  const buffered = Math.max(0, (d.records_in || 0) - (d.records_out || 0));
  const lagState = (lag, on) => !on ? 'idle' : lag > 0 ? 'warn' : 'ok';
  return [
    {id: 'table', kind: 'DynamoDB table', title: tname, href: '#/table/' + enc(tname || ''),
     state: running('dynamodb') ? 'ok' : 'idle',
     lines: [['items', t.items], ['changes', t.changes]]},
    {id: 'tstream', kind: 'DynamoDB stream', title: 'NEW_AND_OLD_IMAGES', href: '#/table/' + enc(tname || ''),
     state: running('dynamodbstreams') ? 'ok' : 'idle',
     lines: [['records', t.changes]]},
    {id: 'pipe', kind: 'EventBridge pipe', title: pname, href: '#/pipe/' + enc(pname || ''),
     state: p.failed > 0 ? 'bad' : p.state !== 'RUNNING' ? 'idle' : lagState(p.lag_records, true),
     lines: [['position', p.checkpoint], ['lag', p.lag_records], ['state', p.state]]},
    {id: 'kinesis', kind: 'Kinesis stream', title: sname, href: '#/stream/' + enc(sname || ''),
     state: running('kinesis') ? 'ok' : 'idle',
     lines: [['records', st.records]].concat(shards.slice(0, 2).map(([id, x]) =>
       ['shard ' + id.slice(-3), x.records]))},
    {id: 'firehose', kind: 'Firehose', title: dname, href: '#/delivery/' + enc(dname || ''),
     state: d.records_failed > 0 || (d.last_error || '') !== '' ? 'bad' : lagState(d.backlog_records, d.running),
     lines: [['buffered', buffered], ['backlog', d.backlog_records], ['delivered', d.records_out]]},
    {id: 'lambda', kind: 'processor (Lambda)', title: 'dynamodb-cdc', href: '#/delivery/' + enc(dname || ''),
     state: d.records_failed > 0 ? 'bad' : d.running ? 'ok' : 'idle',
     lines: [['failed', fh.failed_records], ['dropped', d.records_dropped]]},
    {id: 's3', kind: 'S3 bucket', title: bname, href: '#/delivery/' + enc(dname || ''),
     state: running('s3') ? 'ok' : 'idle',
     lines: [['objects', b.objects], ['bytes', b.bytes], ['error objects', d.error_objects]]},
    {id: 'crawler', kind: 'Glue crawler', title: cname, href: '#/catalog',
     state: c.last_status === 'FAILED' ? 'bad' : c.last_crawl === 'never' ? 'warn' : 'ok',
     lines: [['last run', (c.last_crawl || '').replace('T', ' ').replace('Z', '')], ['status', c.last_status]]},
    {id: 'catalog', kind: 'Glue catalog', title: c.database, href: '#/catalog',
     state: c.tables > 0 ? 'ok' : 'warn',
     lines: [['tables', c.tables]]},
    {id: 'athena', kind: 'Athena', title: 'query console', href: '#/query',
     state: running('athena') ? 'ok' : 'idle',
     lines: [['queries run', svc('athena').console_queries]]},
  ];
}

function flowSvg() {
  const W = 170, H = 112, GAP = 36, PER_ROW = 5;
  const list = steps();
  const width = PER_ROW * W + (PER_ROW - 1) * GAP + 20, height = 2 * H + 70;
  const root = s('svg', {class: 'flow', viewBox: `0 0 ${width} ${height}`, role: 'img',
                         'aria-label': 'the pipeline, step by step'});
  root.append(s('defs', {}, s('marker', {id: 'head', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'}, s('path', {d: 'M0,0 L10,5 L0,10 z', fill: '#8a94a3'}))));
  const pos = i => {
    const row = Math.floor(i / PER_ROW), col = i % PER_ROW;
    const c = row === 0 ? col : PER_ROW - 1 - col; // second row runs right to left
    return {x: 10 + c * (W + GAP), y: 10 + row * (H + 50)};
  };
  list.forEach((st, i) => {
    const {x, y} = pos(i);
    const g = s('g', {class: 'box ' + st.state, 'data-step': st.id, transform: `translate(${x},${y})`});
    g.append(s('rect', {width: W, height: H, rx: 8}));
    g.append(s('text', {x: 10, y: 17, class: 'kind', text: `${i + 1}. ${st.kind}`}));
    g.append(s('text', {x: 10, y: 34, class: 'title', text: String(st.title || '–').slice(0, 21)}));
    st.lines.forEach(([label, v], k) => {
      const t = s('text', {x: 10, y: 54 + k * 17});
      t.append(s('tspan', {class: 'kind', text: label + ' '}));
      t.append(s('tspan', {'data-metric': `${st.id}.${label}`, text: fmt(v)}));
      g.append(t);
    });
    root.append(s('a', {href: st.href}, g));
    if (i + 1 < list.length) {
      const n = pos(i + 1);
      const d = n.y === y ? (n.x > x ? `M${x + W},${y + H / 2} L${n.x},${y + H / 2}` : `M${x},${y + H / 2} L${n.x + W},${y + H / 2}`)
                          : `M${x + W / 2},${y + H} L${n.x + W / 2},${n.y}`;
      root.append(s('path', {class: 'arrow', d}));
    }
  });
  return root;
}

// ---- plots ------------------------------------------------------------------------------

function sample() {
  const [, t] = first(svc('dynamodb').tables);
  const [, st] = first(svc('kinesis').streams);
  const [, p] = first(svc('pipes').pipes);
  const [, d] = first(svc('firehose').delivery_streams);
  samples.push({t: health.now_ms / 1000, table: t.changes || 0, stream: st.records || 0,
                piped: p.checkpoint || 0, delivered: d.records_out || 0, objects: svc('firehose').objects || 0,
                lag: p.lag_records || 0, backlog: svc('firehose').backlog_records || 0,
                p50: d.freshness_p50_ms || 0, p99: d.freshness_p99_ms || 0});
  while (samples.length > HISTORY) samples.shift();
}

// Per second rates of counters between consecutive samples.
function rates(field) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i].t - samples[i - 1].t;
    out.push([samples[i].t, dt > 0 ? Math.max(0, samples[i][field] - samples[i - 1][field]) / dt : 0]);
  }
  return out;
}

function plot(canvas, series, unit) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400, hgt = canvas.clientHeight || 200;
  canvas.width = w * dpr; canvas.height = hgt * dpr;
  const c = canvas.getContext('2d');
  c.scale(dpr, dpr);
  c.clearRect(0, 0, w, hgt);
  const L = 48, B = 20, T = 8, R = 8;
  const pts = series.flatMap(x => x.points);
  const tmax = pts.length ? Math.max(...pts.map(p => p[0])) : 1;
  const tmin = pts.length ? Math.min(...pts.map(p => p[0])) : 0;
  const ymax = Math.max(1, ...pts.map(p => p[1])) * 1.1;
  const X = t => L + (w - L - R) * (tmax > tmin ? (t - tmin) / (tmax - tmin) : 1);
  const Y = v => hgt - B - (hgt - B - T) * v / ymax;
  c.strokeStyle = '#d5d9e0'; c.fillStyle = '#5f6b7a'; c.font = '11px sans-serif';
  for (let k = 0; k <= 4; k++) {
    const v = ymax * k / 4;
    c.beginPath(); c.moveTo(L, Y(v)); c.lineTo(w - R, Y(v)); c.stroke();
    c.fillText(v >= 100 ? Math.round(v) : v.toFixed(1), 4, Y(v) + 4);
  }
  c.fillText(`${Math.round(tmax - tmin)} s ${unit}`, L, hgt - 5);
  series.forEach((sr, i) => {
    c.strokeStyle = COLORS[i % COLORS.length]; c.lineWidth = 2; c.beginPath();
    sr.points.forEach(([t, v], k) => k ? c.lineTo(X(t), Y(v)) : c.moveTo(X(t), Y(v)));
    c.stroke();
  });
}

function legend(series) {
  return h('div', {class: 'legend'}, series.map((sr, i) =>
    h('span', {}, h('i', {'data-color': i}), sr.name)));
}

function plotCard(id, title, seriesFn, unit) {
  const canvas = h('canvas', {id});
  const card = h('div', {class: 'card'}, h('h2', {text: title}), canvas);
  const draw = () => {
    const series = seriesFn();
    plot(canvas, series, unit);
    const old = card.querySelector('.legend');
    const lg = legend(series);
    lg.querySelectorAll('i').forEach(el => { el.style.background = COLORS[el.dataset.color % COLORS.length]; });
    old ? old.replaceWith(lg) : card.append(lg);
  };
  return {card, draw};
}

// ---- pages ------------------------------------------------------------------------------

let refreshers = []; // redraws of the current page after each poll

function overview(main) {
  const flow = h('div', {class: 'card', id: 'flow'});
  const plots = [
    plotCard('plot-rate', 'changes/s per stage (last minutes)', () => [
      {name: 'table', points: rates('table')}, {name: 'pipe', points: rates('piped')},
      {name: 'kinesis', points: rates('stream')}, {name: 'firehose', points: rates('delivered')}], 'changes/s'),
    plotCard('plot-fresh', 'freshness, commit → object (ms, p50 and p99 of the delivered records)', () => [
      {name: 'p50', points: samples.map(x => [x.t, x.p50])}, {name: 'p99', points: samples.map(x => [x.t, x.p99])}], 'ms'),
    plotCard('plot-backlog', 'backlog per stage (records waiting)', () => [
      {name: 'pipe lag', points: samples.map(x => [x.t, x.lag])},
      {name: 'delivery backlog', points: samples.map(x => [x.t, x.backlog])}], 'records'),
  ];
  main.append(h('h1', {text: 'Pipeline'}), flow, h('div', {class: 'plots'}, plots.map(p => p.card)));
  refreshers.push(() => {
    flow.replaceChildren(flowSvg());
    plots.forEach(p => p.draw());
  });
}

function kv(obj) {
  return h('table', {class: 'kv'}, Object.entries(obj).map(([k, v]) =>
    h('tr', {}, h('td', {text: k}), h('td', {}, typeof v === 'object' && v !== null ? h('pre', {text: JSON.stringify(v, null, 2)}) : fmt(v)))));
}

// A DynamoDB attribute value as plain text.
function av(v) {
  if (!v || typeof v !== 'object') return '';
  const [t, x] = Object.entries(v)[0] || [];
  if (t === 'M') return JSON.stringify(Object.fromEntries(Object.entries(x).map(([k, y]) => [k, av(y)])));
  if (t === 'L') return JSON.stringify(x.map(av));
  if (t === 'NULL') return 'null';
  return Array.isArray(x) ? x.join(', ') : String(x);
}
const image = img => img ? Object.entries(img).map(([k, v]) => `${k}=${av(v)}`).join('  ') : '';

function dataTable(columns, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, columns.map(c => h('th', {text: c})))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', {}, c instanceof Node ? c : fmt(c)))))));
}

async function tablePage(main, name) {
  main.append(h('h1', {text: 'Table ' + name}));
  const items = h('div', {class: 'card', id: 'items'}), changes = h('div', {class: 'card', id: 'changes'});
  main.append(h('h2', {text: 'Items'}), items, h('h2', {text: 'Latest changes (table stream)'}), changes);
  const pages = [null];
  async function load(k) {
    const start = pages[k] ? '&start=' + enc(JSON.stringify(pages[k])) : '';
    const r = await getJSON(`table?name=${enc(name)}&limit=25${start}`);
    const cols = [...new Set(r.Items.flatMap(i => Object.keys(i)))];
    if (r.LastEvaluatedKey) pages[k + 1] = r.LastEvaluatedKey;
    items.replaceChildren(h('div', {class: 'row'},
      h('span', {class: 'muted', text: `page ${k + 1}, ${r.Count} items`}),
      h('button', {id: 'prev', onclick: () => load(Math.max(0, k - 1)), disabled: k ? null : ''}, 'previous'),
      h('button', {id: 'next', onclick: () => load(k + 1), disabled: r.LastEvaluatedKey ? null : ''}, 'next')),
      dataTable(cols, r.Items.map(i => cols.map(c => av(i[c])))));
  }
  async function loadChanges() {
    const r = await getJSON(`table-changes?name=${enc(name)}&limit=20`);
    changes.replaceChildren(dataTable(['seq', 'event', 'keys', 'old image', 'new image'],
      r.records.map(x => [x.dynamodb.SequenceNumber, x.eventName, image(x.dynamodb.Keys),
                          image(x.dynamodb.OldImage), image(x.dynamodb.NewImage)])));
  }
  await Promise.all([load(0), loadChanges()]);
}

async function streamPage(main, name) {
  main.append(h('h1', {text: 'Kinesis stream ' + name}));
  const shards = h('div', {class: 'card'}), browser = h('div', {class: 'card', id: 'records'});
  main.append(h('h2', {text: 'Shards'}), shards, h('h2', {text: 'Records'}), browser);
  const r = await getJSON('stream?name=' + enc(name));
  async function browse(shard, after) {
    const x = await getJSON(`stream-records?name=${enc(name)}&shard=${shard}&after=${after}&limit=20`);
    const last = x.records.length ? x.records[x.records.length - 1].position : after;
    browser.replaceChildren(h('div', {class: 'row'},
      h('span', {class: 'muted', text: `shard ${shard}, after position ${after} of ${x.end}`}),
      h('button', {onclick: () => browse(shard, Math.max(0, after - 20))}, 'earlier'),
      h('button', {onclick: () => browse(shard, last)}, 'later')),
      dataTable(['position', 'sequence number', 'partition key', 'arrival', 'data'],
        x.records.map(q => [q.position, q.sequence_number, q.partition_key,
                            new Date(q.arrival_ms).toISOString(), h('pre', {text: q.data})])));
  }
  shards.replaceChildren(dataTable(['shard', 'open', 'records', 'sequence range', ''],
    r.shards.map(x => [x.shard_id, x.open ? 'yes' : 'no', x.records, x.records ? `1 – ${x.records}` : 'empty',
                       h('a', {class: 'link', onclick: () => browse(x.index, 0)}, 'browse')])));
  if (r.shards.length) await browse(r.shards[0].index, 0);
}

async function pipePage(main, name) {
  main.append(h('h1', {text: 'Pipe ' + name}));
  const cfg = await getJSON('pipe?name=' + enc(name));
  const live = h('div', {class: 'card', id: 'pipe-live'});
  const act = async (what) => {
    const r = await fetch(`/v1/pipes/${enc(name)}/${what}`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
    if (!r.ok) live.append(h('div', {class: 'error', text: `${what}: ${r.status}`}));
  };
  main.append(h('div', {class: 'row'}, h('button', {id: 'pipe-start', onclick: () => act('start')}, 'start'),
                                       h('button', {id: 'pipe-stop', onclick: () => act('stop')}, 'stop')),
              h('h2', {text: 'Live'}), live, h('h2', {text: 'Filters and batching'}), h('div', {class: 'card'}, kv(cfg)));
  refreshers.push(() => live.replaceChildren(kv((svc('pipes').pipes || {})[name] || {})));
}

async function deliveryPage(main, name) {
  main.append(h('h1', {text: 'Delivery stream ' + name}));
  const r = await getJSON('delivery?name=' + enc(name));
  const lines = h('div', {class: 'card', id: 'object-lines'}, h('span', {class: 'muted', text: 'open an object to see its lines'}));
  const open = async (key) => {
    const o = await getJSON(`object?bucket=${enc(r.config.bucket)}&key=${enc(key)}`);
    lines.replaceChildren(h('div', {class: 'muted', text: `${o.key} — ${bytes(o.size)}${o.compressed ? ' (compressed: not shown)' : ''}`}),
      dataTable(['#', 'line'], o.lines.map((l, i) => [i + 1, h('pre', {text: typeof l === 'string' ? l : JSON.stringify(l)})])));
  };
  const objTable = list => dataTable(['key', 'size', 'written'], list.map(o =>
    [h('a', {class: 'link', onclick: () => open(o.key)}, o.key), bytes(o.size), new Date(o.mtime_ms).toISOString()]));
  main.append(h('h2', {text: 'Configuration'}), h('div', {class: 'card'}, kv(r.config)),
    h('h2', {text: `Recent objects (${r.objects_total} in all)`}), h('div', {class: 'card', id: 'objects'}, objTable(r.objects)),
    h('h2', {text: 'Object lines'}), lines,
    h('h2', {text: `Error output (${r.error_objects_total} objects)`}), h('div', {class: 'card', id: 'errors'},
      r.error_objects.length ? objTable(r.error_objects) : h('span', {class: 'muted', text: 'no failed records'})));
}

async function catalogPage(main) {
  main.append(h('h1', {text: 'Glue catalog'}));
  const r = await getJSON('catalog');
  if (!r.databases.length) main.append(h('div', {class: 'card muted', text: 'no databases yet: run the crawler (salespipe crawl)'}));
  for (const db of r.databases) {
    main.append(h('h2', {text: 'database ' + db.name}));
    for (const t of db.tables) {
      main.append(h('div', {class: 'card', 'data-table': t.name},
        h('strong', {text: t.name}), ' ', h('span', {class: 'muted', text: t.location || ''}),
        t.error ? h('div', {class: 'error', text: t.error}) : [
          dataTable(['column', 'type'], t.columns.map(c => [c.name, c.type]).concat(
            t.partition_keys.map(c => [c.name, c.type + ' (partition key)']))),
          h('h2', {text: `partitions (${t.partitions_total})`}),
          dataTable(['values', 'location'], t.partitions.map(p => [p.values.join(' / '), p.location]))]));
    }
  }
}

async function queryPage(main) {
  main.append(h('h1', {text: 'Query console (Athena SQL)'}));
  const [, c] = first(svc('catalog').crawlers);
  const sql = h('textarea', {id: 'sql', spellcheck: 'false'});
  sql.value = 'SELECT product_name, count(*) AS orders, sum(quantity) AS units\nFROM kinesis_firehose_destination_yb\nGROUP BY product_name\nORDER BY product_name';
  const db = h('input', {type: 'text', id: 'database', value: c.database || 'sales_db'});
  const out = h('div', {class: 'card', id: 'result'}), hist = h('div', {class: 'card', id: 'history'});
  const run = async () => {
    out.replaceChildren(h('span', {class: 'muted', text: 'running…'}));
    const r = await fetch(API + 'query', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                          body: JSON.stringify({sql: sql.value, database: db.value})});
    const j = await r.json();
    if (!r.ok) out.replaceChildren(h('div', {class: 'error', id: 'query-error', text: j.error}));
    else out.replaceChildren(
      h('div', {class: 'muted', id: 'query-stats', text: `${j.row_count} rows${j.truncated ? ' (first 1000 shown)' : ''} · ${j.stats.ms.toFixed(1)} ms · partitions scanned ${j.stats.partitions_scanned} · objects opened ${j.stats.objects_opened} (from cache ${j.stats.objects_from_cache}) · ${bytes(j.stats.bytes_scanned)} scanned`}),
      dataTable(j.columns.map(c => c.name), j.rows.map(r => r.map(v => v === null ? 'NULL' : v))));
    await history();
  };
  const history = async () => {
    const x = await getJSON('history');
    hist.replaceChildren(dataTable(['when', 'database', 'sql', 'result', 'ms'], x.history.map(q =>
      [new Date(q.at_ms).toLocaleTimeString(), q.database || '', h('a', {class: 'link', onclick: () => { sql.value = q.sql; }}, q.sql),
       q.ok ? `${q.rows} rows` : q.error, q.ms])));
  };
  main.append(sql, h('div', {class: 'row'}, 'database', db, h('button', {class: 'primary', id: 'run', onclick: run}, 'Run')),
              h('h2', {text: 'Result'}), out, h('h2', {text: 'History'}), hist);
  await history();
}

// ---- routing and polling ----------------------------------------------------------------

function nav() {
  const [tname] = first(svc('dynamodb').tables), [sname] = first(svc('kinesis').streams);
  const [pname] = first(svc('pipes').pipes), [dname] = first(svc('firehose').delivery_streams);
  document.getElementById('nav').replaceChildren(
    h('a', {href: '#/'}, 'pipeline'), h('a', {href: '#/table/' + enc(tname || '')}, 'table'),
    h('a', {href: '#/stream/' + enc(sname || '')}, 'stream'), h('a', {href: '#/pipe/' + enc(pname || '')}, 'pipe'),
    h('a', {href: '#/delivery/' + enc(dname || '')}, 'delivery'), h('a', {href: '#/catalog'}, 'catalog'),
    h('a', {href: '#/query'}, 'query'));
}

async function route() {
  const main = document.getElementById('main');
  refreshers = [];
  main.replaceChildren();
  const [, page, arg] = (location.hash || '#/').match(/^#\/([^/]*)\/?(.*)$/) || [];
  const name = decodeURIComponent(arg || '');
  const pages = {'': overview, table: tablePage, stream: streamPage, pipe: pipePage,
                 delivery: deliveryPage, catalog: catalogPage, query: queryPage};
  try {
    await (pages[page] || overview)(main, name);
    main.dataset.loaded = page || 'pipeline';
  } catch (err) {
    main.append(h('div', {class: 'error', text: String(err.message || err)}));
  }
  refreshers.forEach(f => f());
}

async function poll() {
  try {
    health = await getJSON('health');
    sample();
    if (!config) { config = true; nav(); await route(); }
    refreshers.forEach(f => f());
    document.getElementById('live').textContent = 'live · ' + new Date(health.now_ms).toLocaleTimeString();
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (err) {
    document.getElementById('live').textContent = 'not connected';
  }
  setTimeout(poll, POLL_MS);
}

window.addEventListener('hashchange', route);
poll();

// SPDX-License-Identifier: MIT
// slob-dash front end: fetches the JSON API and renders the page the path
// names. Data is only ever inserted with textContent (never innerHTML), so
// nothing from the store can run as markup. Refreshes every 5 s.
'use strict';

const PAGES = { '/': 'overview', '/positions': 'positions', '/trades': 'trades', '/stats': 'stats' };
const page = PAGES[location.pathname] || 'overview';
let chart = null;
let tradesNext = null;

function $(id) { return document.getElementById(id); }

async function api(name) {
  const r = await fetch('/api/' + name, { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401) { location.href = '/login'; throw new Error('login required'); }
  const j = await r.json();
  if (!r.ok && j.error) j._error = j.error + (j.detail ? ': ' + j.detail : '');
  return j;
}

function money(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const s = Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return (v < 0 ? '-$' : '$') + s;
}

function signClass(el, v) {
  el.classList.remove('pos', 'neg');
  if (v > 0) el.classList.add('pos'); else if (v < 0) el.classList.add('neg');
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

function fillTable(table, rows, cols) {
  const thead = table.tHead, tbody = table.tBodies[0];
  if (cols && thead) {
    thead.textContent = '';
    const tr = thead.insertRow();
    for (const c of cols) { const th = document.createElement('th'); th.textContent = c; tr.appendChild(th); }
  }
  tbody.textContent = '';
  if (!rows.length) {
    const td = tbody.insertRow().insertCell();
    td.colSpan = cols ? cols.length : 9;
    td.className = 'detail';
    td.textContent = 'none';
    return;
  }
  for (const r of rows) {
    const tr = tbody.insertRow();
    for (const v of r) {
      const td = tr.insertCell();
      td.textContent = v === null || v === undefined ? '' : String(v);
    }
  }
}

function ns(v) {
  if (!v) return '0';
  if (v < 1e3) return v + ' ns';
  if (v < 1e6) return (v / 1e3).toFixed(1) + ' µs';
  if (v < 1e9) return (v / 1e6).toFixed(2) + ' ms';
  return (v / 1e9).toFixed(2) + ' s';
}

async function renderOverview() {
  const s = await api('status');
  const eng = s.engine || {};
  const st = $('engine-status');
  st.textContent = eng.alive ? 'RUNNING' : 'NOT RUNNING';
  st.className = 'status ' + (eng.alive ? 'up' : 'down');
  $('engine-detail').textContent = eng.alive
    ? `pid ${eng.pid}, ${eng.mode}, heartbeat ${eng.heartbeat_age_s.toFixed(1)} s ago` + (eng.kill_switch ? ', KILL SWITCH ON' : '')
    : (eng.error || 'no fresh heartbeat in the stats file');
  const br = s.breaker || {};
  const b = $('breaker');
  b.textContent = br.tripped ? 'TRIPPED' : 'OK';
  b.className = 'breaker ' + (br.tripped ? 'tripped' : 'ok');
  $('breaker-detail').textContent = br.tripped ? `${br.reason || ''} ${br.since ? 'since ' + br.since : ''}` : 'trading allowed';
  const t = $('today-pnl');
  t.textContent = money(s.today_pnl);
  signClass(t, s.today_pnl);
  const sum = s.summary || {};
  $('today-detail').textContent = sum.today_trades !== undefined ? `${sum.today_trades} closed trade(s) today (UTC)` : '';
  const risk = s.risk || {};
  $('equity').textContent = money(eng.alive ? eng.equity : risk.equity);
  $('equity-detail').textContent = risk.peak_equity ? 'peak ' + money(risk.peak_equity) : '';
  const acct = eng.alive ? eng.account_figures : null;
  if (acct) {
    // the broker account (live): what sizes trades and what margin is left
    $('equity-detail').textContent += (risk.peak_equity ? '; ' : '') +
      `broker net liq ${money(acct.net_liquidation)}, available ${money(acct.available_funds)}, ` +
      `excess ${money(acct.excess_liquidity)}; sizing on ${money(acct.sizing_equity)} (${acct.sizing_source}); ` +
      (acct.age_s !== null ? `figures ${acct.age_s.toFixed(0)} s old` : 'no figures yet') +
      (acct.stale ? ' — STALE: new entries held' : '');
  }
  fillTable($('conn-table'), (s.connections || []).map(c => [c.name, c.state, c.since || '', c.drops ?? '']));
  const rows = [
    ['Closed trades', sum.total_trades], ['Win rate', sum.total_trades ? (100 * sum.win_rate).toFixed(1) + ' %' : '–'],
    ['Realised P&L', money(sum.total_pnl)], ['Max drawdown', money(sum.max_drawdown) + (sum.max_drawdown_pct !== undefined ? ` (${sum.max_drawdown_pct} %)` : '')],
    ['Profit factor', sum.profit_factor ? sum.profit_factor.toFixed(2) : '–'],
    ['Store', s.store && s.store.ok ? s.store.path : 'NOT READABLE: ' + ((s.store && s.store.error) || '')],
  ];
  fillTable($('summary-table'), rows);
  const ev = await api('events');
  const merged = (ev.events || []).map(e => [e.ts, e.level || '', e.component || e.kind, e.text || ''])
    .concat((ev.alerts || []).map(a => [a.ts, a.level, 'alert ' + (a.channel || '') + ' ' + (a.status || ''), a.text || '']))
    .sort((a, b) => (a[0] < b[0] ? 1 : -1)).slice(0, 20);
  fillTable($('events-table'), merged);
  showError(s.store && !s.store.ok ? 'Store not readable: ' + s.store.error : '');
}

async function renderPositions() {
  const [p, su] = await Promise.all([api('positions'), api('setups')]);
  fillTable($('positions-table'), (p.positions || []).map(r => [r.setup_id, r.symbol, r.qty, r.avg_price, r.sl_price, r.tp_price, r.opened_at]),
    ['Setup', 'Symbol', 'Qty', 'Avg price', 'Stop', 'Target', 'Opened (UTC)']);
  fillTable($('setups-table'), (su.setups || []).map(r => [r.id, r.state, r.direction, r.entry_price, r.sl_price, r.tp_price, r.risk_reward_ratio, r.created_at, r.source]),
    ['Id', 'State', 'Direction', 'Entry', 'Stop', 'Target', 'R:R', 'Created (UTC)', 'Source']);
  showError(p._error || su._error || '');
}

const TRADE_COLS = ['Id', 'Setup', 'Dir', 'Qty', 'Entry time (UTC)', 'Exit time', 'Entry', 'Exit', 'Outcome', 'P&L', 'Exit reason'];
function tradeRow(r) { return [r.id, r.setup_id, r.direction, r.qty, r.entry_time, r.exit_time, r.entry_price, r.exit_price, r.outcome, money(r.pnl), r.exit_reason]; }

async function loadTrades(more) {
  const q = more && tradesNext ? '?limit=100&before=' + encodeURIComponent(tradesNext) : '?limit=100';
  const t = await api('trades' + q);
  const table = $('trades-table');
  if (more) {
    const tbody = table.tBodies[0];
    for (const r of t.trades || []) { const tr = tbody.insertRow(); for (const v of tradeRow(r)) tr.insertCell().textContent = v ?? ''; }
  } else {
    fillTable(table, (t.trades || []).map(tradeRow), TRADE_COLS);
  }
  tradesNext = t.next;
  $('trades-more').hidden = !t.next;
  $('trades-total').textContent = t.total >= 0 ? `(${t.total} in the store)` : '';
  return t;
}

async function renderTrades(first) {
  const [pnl, t] = await Promise.all([api('pnl'), first ? loadTrades(false) : Promise.resolve({})]);
  showError(pnl._error || t._error || '');
  const el = $('pnl-chart');
  const xs = pnl.t || [];
  const data = [xs, pnl.cumulative || [], pnl.daily_pnl || []];
  el.dataset.points = String(xs.length);
  if (typeof uPlot === 'undefined') { showError('chart library failed to load'); return; }
  const width = Math.max(400, Math.min(1200, document.body.clientWidth - 60));
  if (!chart) {
    chart = new uPlot({
      width, height: 320,
      series: [{}, { label: 'Cumulative P&L', stroke: '#1565c0', width: 2, value: (u, v) => money(v) },
        { label: 'Daily P&L', stroke: '#90a4ae', width: 1, value: (u, v) => money(v) }],
      axes: [{}, { values: (u, vals) => vals.map(v => '$' + v.toLocaleString('en-US')) , size: 80 }],
    }, data, el);
  } else {
    chart.setData(data);
  }
  el.dataset.drawn = '1';
}

async function renderStats() {
  const s = await api('stats');
  fillTable($('latency-table'), (s.latency || []).map(h => [h.name, h.count, ns(h.p50_ns), ns(h.p90_ns), ns(h.p99_ns), ns(h.p999_ns), ns(h.max_ns)]));
  fillTable($('stages-table'), (s.stages || []).map(x => [x.name, x.in, x.out, x.ring_fill, x.ring_fill_max, x.ring_cap, x.drops, x.backpressure, x.errors]));
  showError(s.error ? 'Stats file: ' + s.error : '');
}

const RENDER = { overview: renderOverview, positions: renderPositions, trades: renderTrades, stats: renderStats };

async function refresh(first) {
  try {
    await RENDER[page](first);
    document.body.dataset.ready = '1';
  } catch (e) {
    showError(String(e));
    document.body.dataset.ready = 'error';
  }
}

function tick() {
  const now = new Date();
  const f = tz => now.toLocaleTimeString('en-GB', { timeZone: tz, hour12: false });
  $('clock').textContent = `New York ${f('America/New_York')}  Stockholm ${f('Europe/Stockholm')}`;
}

document.addEventListener('DOMContentLoaded', () => {
  $('page-' + page).hidden = false;
  for (const a of document.querySelectorAll('nav a')) if (a.dataset.page === page) a.classList.add('active');
  $('trades-more').addEventListener('click', () => loadTrades(true).catch(e => showError(String(e))));
  tick();
  setInterval(tick, 1000);
  refresh(true);
  setInterval(() => refresh(false), 5000);
});

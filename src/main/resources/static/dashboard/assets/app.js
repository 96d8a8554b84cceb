// The dashboard: renders the page the path names from the instance's JSON API. No framework and no build step;
// every element is built with the DOM (never innerHTML), so text from jobs cannot become markup. A bisect report's HTML is
// parsed into an inert document and copied tag by tag from an allowlist.
(function () {
  'use strict';

  var LIVE_INTERVAL_MS = 1500;
  var FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
  var STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
  var SECRET_KEY = /token|secret|password|passwd|credential|private[_-]?key|authorization|api[_-]?key|cookie/i;
  var session = { role: null, csrf: null };
  var main = document.getElementById('main');

  // ---- helpers ------------------------------------------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k.indexOf('on') === 0) el.addEventListener(k.substring(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
    else el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }

  function replace(el) {
    var children = Array.prototype.slice.call(arguments, 1);
    while (el.firstChild) el.removeChild(el.firstChild);
    children.forEach(function (c) { append(el, c); });
  }

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function api(path, options) {
    options = options || {};
    var headers = { Accept: 'application/json' };
    if (options.method && options.method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
    var body;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return fetch(path, { method: options.method || 'GET', headers: headers, body: body, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401) {
          location.assign('/dashboard/login?next=' + encodeURIComponent(location.pathname + location.search));
          throw new ApiError(401, 'not logged in');
        }
        return response.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (!response.ok) throw new ApiError(response.status, body && body.error ? body.error : 'HTTP ' + response.status);
          return body;
        });
      });
  }

  function toast(message, isError) {
    var el = document.getElementById('toast');
    el.textContent = message;
    el.className = 'toast show' + (isError ? ' bad' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.className = 'toast'; }, 6000);
  }

  // A modal question with the page's own dialog (no window.confirm, so it is styled and keyboard friendly).
  // Resolves true when confirmed.
  function ask(question, detail, confirmLabel) {
    return new Promise(function (resolve) {
      var dialog = h('dialog', { id: 'confirm', class: 'card', 'aria-labelledby': 'confirm-q' });
      function close(answer) {
        dialog.close();
        dialog.parentNode.removeChild(dialog);
        resolve(answer);
      }
      append(dialog, [h('p', { id: 'confirm-q', class: 'question', text: question }),
        detail ? h('p', { class: 'muted small', id: 'confirm-detail', text: detail }) : null,
        h('div', { class: 'actions' },
          h('button', { type: 'button', id: 'confirm-yes', class: 'primary', text: confirmLabel, onclick: function () { close(true); } }),
          h('button', { type: 'button', id: 'confirm-no', text: 'Back', onclick: function () { close(false); } }))]);
      dialog.addEventListener('cancel', function (e) { e.preventDefault(); close(false); });
      document.body.appendChild(dialog);
      dialog.showModal();
      dialog.querySelector('#confirm-no').focus();
    });
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function relative(iso) {
    if (!iso) return '';
    var seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    var future = seconds < 0;
    var s = Math.abs(seconds);
    var text = s < 5 ? 'just now' : s < 60 ? s + ' s' : s < 3600 ? Math.round(s / 60) + ' min'
      : s < 86400 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d';
    if (text === 'just now') return text;
    return future ? 'in ' + text : text + ' ago';
  }

  function time(iso) {
    if (!iso) return h('span', { class: 'muted', text: '—' });
    return h('time', { datetime: iso, title: new Date(iso).toLocaleString() + ' (' + iso + ')', text: relative(iso) });
  }

  function refreshTimes() {
    Array.prototype.forEach.call(document.querySelectorAll('time[datetime]'), function (t) {
      t.textContent = relative(t.getAttribute('datetime'));
    });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '—';
    if (seconds < 60) return seconds + ' s';
    if (seconds < 3600) return Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s';
    return Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min';
  }

  function badge(status) {
    return h('span', { class: 'badge s-' + String(status).toLowerCase(), text: String(status).toLowerCase() });
  }

  function canAct() {
    return session.role === 'operator' || session.role === 'admin';
  }

  // Values of secret-looking keys, and credentials inside URLs, are never shown.
  function mask(value, key) {
    if (key && SECRET_KEY.test(key) && value !== null && typeof value !== 'object') return '••••••';
    if (Array.isArray(value)) return value.map(function (v) { return mask(v); });
    if (value && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (k) { out[k] = mask(value[k], k); });
      return out;
    }
    if (typeof value === 'string') return value.replace(/(\/\/)[^\/@\s]+@/g, '$1••••••@');
    return value;
  }

  // A loop that runs while the tab is visible: at once, then LIVE_INTERVAL_MS after each round ends.
  function live(round) {
    var stopped = false;
    var timer = null;
    function tick() {
      timer = null;
      if (stopped || document.hidden) return;
      Promise.resolve().then(round).catch(function (e) {
        if (e && e.status !== 401) toast(e.message || String(e), true);
      }).then(function (more) {
        if (!stopped && more !== false && !document.hidden) timer = setTimeout(tick, LIVE_INTERVAL_MS);
        if (more === false) stopped = true;
      });
    }
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !stopped && timer === null) tick();
    });
    tick();
  }

  function section(title) {
    var children = Array.prototype.slice.call(arguments, 1);
    return h('section', { class: 'card', 'aria-label': title }, h('h2', { text: title }), children);
  }

  function table(caption, head, rows) {
    return h('div', { class: 'table-wrap' }, h('table', null,
      h('caption', { class: 'sr-only', text: caption }),
      h('thead', null, h('tr', null, head.map(function (c) { return h('th', { scope: 'col', text: c }); }))),
      h('tbody', null, rows)));
  }

  // ---- charts -------------------------------------------------------------------------------------------------

  var SVG = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
    return el;
  }

  function shortTime(iso, bucketSeconds) {
    var d = new Date(iso);
    return bucketSeconds >= 3600 ? d.toLocaleDateString([], { weekday: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], { hour: '2-digit' })
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // A line chart as inline SVG: one polyline per series, drawn in classes the style sheet colours (no inline style).
  function lineChart(id, title, series, data) {
    var W = 640, H = 170, L = 40, R = 8, T = 10, B = 22;
    var points = data.points;
    var max = 1;
    points.forEach(function (p) { series.forEach(function (s) { if (p[s.key] !== null && p[s.key] > max) max = p[s.key]; }); });
    var x = function (i) { return L + (points.length < 2 ? 0 : i * (W - L - R) / (points.length - 1)); };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    var totals = series.map(function (s) {
      var sum = 0;
      points.forEach(function (p) { if (p[s.key] !== null) sum = s.depth ? Math.max(sum, p[s.key]) : sum + p[s.key]; });
      return s.label + ' ' + (s.depth ? 'at most ' : '') + sum;
    });
    var chart = svg('svg', { id: id, class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title + ': ' + totals.join(', ') },
      svg('title', {}, document.createTextNode(title)),
      svg('line', { class: 'axis', x1: L, y1: y(0), x2: W - R, y2: y(0) }),
      svg('line', { class: 'grid', x1: L, y1: y(max), x2: W - R, y2: y(max) }),
      svg('text', { class: 'tick', x: L - 6, y: y(max) + 4, 'text-anchor': 'end' }, document.createTextNode(String(max))),
      svg('text', { class: 'tick', x: L - 6, y: y(0) + 4, 'text-anchor': 'end' }, document.createTextNode('0')),
      points.length ? svg('text', { class: 'tick', x: L, y: H - 6 }, document.createTextNode(shortTime(points[0].at, data.bucket_seconds))) : null,
      points.length ? svg('text', { class: 'tick', x: W - R, y: H - 6, 'text-anchor': 'end' }, document.createTextNode(shortTime(points[points.length - 1].at, data.bucket_seconds))) : null);
    series.forEach(function (s) {
      var coords = [];
      points.forEach(function (p, i) { if (p[s.key] !== null) coords.push(x(i).toFixed(1) + ',' + y(p[s.key]).toFixed(1)); });
      if (coords.length) chart.appendChild(svg('polyline', { class: 'line ' + s.cls, points: coords.join(' '), 'data-series': s.key }));
    });
    var legend = h('ul', { class: 'legend' }, series.map(function (s, i) {
      return h('li', { class: s.cls }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), totals[i]);
    }));
    return h('figure', { class: 'chart-box' }, h('figcaption', { text: title }), chart, legend);
  }

  function charts(box) {
    var range = '1h';
    var buttons = h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' });
    var area = h('div', { class: 'charts', id: 'charts' });
    var drawnAt = 0;
    function draw() {
      return api('/stats/minutes?range=' + range).then(function (data) {
        drawnAt = Date.now();
        var per = data.bucket_seconds === 60 ? 'minute' : data.bucket_seconds === 3600 ? 'hour' : (data.bucket_seconds / 60) + ' min';
        replace(area,
          lineChart('chart-flow', 'Jobs per ' + per, [
            { key: 'enqueued', label: 'enqueued', cls: 'c-enqueued' },
            { key: 'succeeded', label: 'succeeded', cls: 'c-succeeded' },
            { key: 'failed', label: 'failed', cls: 'c-failed' }], data),
          lineChart('chart-depth', 'Queue depth', [
            { key: 'pending', label: 'pending', cls: 'c-pending', depth: true },
            { key: 'running', label: 'running', cls: 'c-running', depth: true }], data));
      });
    }
    ['1h', '24h', '7d'].forEach(function (r) {
      append(buttons, h('button', { type: 'button', 'data-range': r, 'aria-pressed': r === range ? 'true' : 'false', text: r, onclick: function () {
        range = r;
        Array.prototype.forEach.call(buttons.children, function (b) { b.setAttribute('aria-pressed', b.getAttribute('data-range') === r ? 'true' : 'false'); });
        draw().catch(function (e) { toast(e.message, true); });
      } }));
    });
    replace(box, buttons, area);
    // The rollup changes about twice a minute: redrawn every 15 s of the overview's live loop.
    return function () { return Date.now() - drawnAt > 15000 ? draw() : null; };
  }

  // ---- overview -----------------------------------------------------------------------------------------------

  function overview() {
    document.title = 'Overview · bisectbot';
    var counts = h('div', { class: 'counts', id: 'counts' });
    var instances = h('div', { id: 'instances' });
    var outbox = h('div', { id: 'outbox' });
    var updated = h('p', { class: 'muted small', id: 'updated' });
    var overTime = h('div', { id: 'over-time' });
    replace(main, h('h1', { text: 'Overview' }), updated,
      section('Jobs', counts), section('Over time', overTime), section('Instances', instances), section('GitHub outbox', outbox));
    var redrawCharts = charts(overTime);
    live(function () {
      return Promise.all([
        redrawCharts(),
        api('/stats'),
        api('/workers'),
        api('/admin/outbox').catch(function (e) { return e.status === 404 ? null : Promise.reject(e); })
      ]).then(function (answers) {
        var stats = answers[1];
        var link = function (label, value, status, cls) {
          return h('a', { class: 'count ' + (cls || ''), href: '/dashboard/jobs' + (status ? '?status=' + status : ''), 'data-count': label },
            h('span', { class: 'n', text: value }), h('span', { class: 'label', text: label }));
        };
        replace(counts,
          link('pending', stats.pending, 'PENDING'), link('running', stats.running, 'RUNNING', 'running'),
          link('succeeded', stats.completed, 'SUCCEEDED'), link('failed', stats.failed, 'FAILED', stats.failed ? 'bad' : ''),
          link('cancelled', stats.cancelled, 'CANCELLED'),
          h('div', { class: 'count' }, h('span', { class: 'n', text: duration(stats.oldest_pending_age_seconds) }),
            h('span', { class: 'label', text: 'oldest pending' })));
        var workers = answers[2].instances;
        replace(instances, workers.length === 0 ? h('p', { class: 'muted', text: 'No instance has reported yet.' })
          : table('Instances', ['Instance', 'State', 'Version', 'Slots used', 'Docker', 'Kinds', 'Last heartbeat', 'Started'], workers.map(function (w) {
            var docker = w.docker === null || w.docker === undefined ? h('span', { class: 'muted', text: '—' })
              : h('span', { class: 'badge ' + (w.docker === 'ok' ? 's-succeeded' : 's-failed'), text: w.docker,
                title: w.unready_kinds && w.unready_kinds.length ? 'waiting for Docker: ' + w.unready_kinds.join(', ') : null });
            return h('tr', { 'data-instance': w.id }, h('td', { class: 'mono', text: w.id }), h('td', null, badge(w.state)), h('td', { text: w.version }),
              h('td', { text: w.running_jobs + ' / ' + w.max_concurrent_jobs }), h('td', { class: 'docker' }, docker),
              h('td', { class: 'small', text: w.kinds ? w.kinds.join(', ') : '—' }),
              h('td', null, time(w.heartbeat_at)), h('td', null, time(w.started_at)));
          })));
        var box = answers[3];
        replace(outbox, box === null ? h('p', { class: 'muted', text: 'GitHub is not configured on this instance.' })
          : h('div', { class: 'counts' },
            h('div', { class: 'count' }, h('span', { class: 'n', text: box.pending }), h('span', { class: 'label', text: 'pending' })),
            h('div', { class: 'count' }, h('span', { class: 'n', text: box.done }), h('span', { class: 'label', text: 'delivered' })),
            h('div', { class: 'count ' + (box.dead ? 'bad' : '') }, h('span', { class: 'n', text: box.dead }), h('span', { class: 'label', text: 'dead letters' })),
            h('div', { class: 'count' }, h('span', { class: 'n', text: duration(box.oldest_pending_age_seconds) }), h('span', { class: 'label', text: 'oldest pending' }))));
        updated.textContent = 'Live · updated ' + new Date().toLocaleTimeString();
      });
    });
  }

  // ---- jobs list ----------------------------------------------------------------------------------------------

  var FILTER_KEYS = ['status', 'kind', 'q', 'installation', 'from', 'to'];

  // datetime-local shows local time; the URL and the API hold ISO instants.
  function localInput(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function jobs() {
    document.title = 'Jobs · bisectbot';
    var params = new URLSearchParams(location.search);
    var status = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '', text: 'Any status' }),
      STATUSES.map(function (s) { return h('option', { value: s, text: s.toLowerCase(), selected: params.get('status') === s }); }));
    var kind = h('input', { id: 'f-kind', name: 'kind', type: 'text', value: params.get('kind') || '', placeholder: 'e.g. bisect', size: 12 });
    var q = h('input', { id: 'f-q', name: 'q', type: 'search', value: params.get('q') || '', placeholder: 'repo:acme/app pr:123 sha:abc123 or error text', size: 32 });
    var installation = h('input', { id: 'f-installation', name: 'installation', type: 'text', inputmode: 'numeric', pattern: '[0-9]*',
      value: params.get('installation') || '', placeholder: 'id', size: 8 });
    var from = h('input', { id: 'f-from', name: 'from', type: 'datetime-local', value: localInput(params.get('from')) });
    var to = h('input', { id: 'f-to', name: 'to', type: 'datetime-local', value: localInput(params.get('to')) });
    var form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: function (e) {
      e.preventDefault();
      var next = new URLSearchParams();
      if (status.value) next.set('status', status.value);
      if (kind.value.trim()) next.set('kind', kind.value.trim());
      if (q.value.trim()) next.set('q', q.value.trim());
      if (installation.value.trim()) next.set('installation', installation.value.trim());
      if (from.value) next.set('from', new Date(from.value).toISOString());
      if (to.value) next.set('to', new Date(to.value).toISOString());
      location.assign('/dashboard/jobs' + (next.toString() ? '?' + next : ''));
    } },
      h('label', { for: 'f-status', text: 'Status' }), status,
      h('label', { for: 'f-kind', text: 'Kind' }), kind,
      h('label', { for: 'f-q', text: 'Search' }), q,
      h('label', { for: 'f-installation', text: 'Installation' }), installation,
      h('label', { for: 'f-from', text: 'From' }), from,
      h('label', { for: 'f-to', text: 'To' }), to,
      h('button', { type: 'submit', class: 'primary', text: 'Filter' }));
    status.addEventListener('change', function () { form.requestSubmit(); });
    var list = h('div', { id: 'job-list', 'aria-live': 'polite' });
    var pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });

    var filter = {};
    FILTER_KEYS.forEach(function (k) { if (params.get(k)) filter[k] = params.get(k); });
    // Ticked rows survive the live refresh of the list.
    var selected = {};
    var selectedCount = h('span', { id: 'selected-count', class: 'muted small', text: '' });
    function selectedIds() {
      return Object.keys(selected).filter(function (k) { return selected[k]; }).map(Number);
    }
    function updateSelection() {
      var n = selectedIds().length;
      selectedCount.textContent = n ? plural(n, 'job', 'jobs') + ' selected' : 'None selected';
      Array.prototype.forEach.call(document.querySelectorAll('[data-needs-selection]'), function (b) { b.disabled = n === 0; });
    }
    function bulk(action, target) {
      var body = { action: action };
      if (target === 'selected') body.ids = selectedIds();
      else body.filter = filter;
      var verb = action === 'retry' ? 'Retry' : 'Cancel';
      api('/jobs/bulk', { method: 'POST', body: Object.assign({ dry_run: true }, body) }).then(function (dry) {
        if (dry.eligible === 0) {
          toast('None of the ' + plural(dry.matched, 'job', 'jobs') + ' can be ' + (action === 'retry' ? 'retried' : 'cancelled') + '.', true);
          return null;
        }
        var question = verb + ' ' + plural(dry.eligible, 'job', 'jobs') + '?';
        var skipped = dry.skipped + dry.missing;
        var scope = target === 'selected' ? plural(dry.matched, 'selected job', 'selected jobs')
          : plural(dry.matched, 'job matches', 'jobs match') + ' this filter';
        var detail = scope + (skipped ? '; ' + skipped + ' of them ' + (skipped === 1 ? 'is' : 'are') + ' skipped ('
          + (action === 'retry' ? 'not failed or cancelled, or retried already' : 'not pending or running') + ').' : '.');
        return ask(question, detail,
          verb + ' ' + plural(dry.eligible, 'job', 'jobs')).then(function (yes) {
          if (!yes) return null;
          return api('/jobs/bulk', { method: 'POST', body: body }).then(function (done) {
            toast((action === 'retry' ? 'Retried ' : 'Cancelled ') + plural(done.done, 'job', 'jobs')
              + (done.skipped ? ', ' + done.skipped + ' skipped' : '') + '.');
            selected = {};
            updateSelection();
          });
        });
      }).catch(function (e) { toast(e.message, true); });
    }
    var bulkBar = canAct() ? h('div', { class: 'bulk', role: 'group', 'aria-label': 'Bulk actions' },
      selectedCount,
      h('button', { type: 'button', id: 'retry-selected', 'data-needs-selection': true, disabled: true, text: 'Retry selected', onclick: function () { bulk('retry', 'selected'); } }),
      h('button', { type: 'button', id: 'cancel-selected', 'data-needs-selection': true, disabled: true, class: 'danger', text: 'Cancel selected', onclick: function () { bulk('cancel', 'selected'); } }),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', id: 'retry-matching', text: 'Retry all matching…', onclick: function () { bulk('retry', 'filter'); } }),
      h('button', { type: 'button', id: 'cancel-matching', class: 'danger', text: 'Cancel all matching…', onclick: function () { bulk('cancel', 'filter'); } })) : null;
    replace(main, h('h1', { text: 'Jobs' }), form, h('section', { class: 'card' }, bulkBar, list, pager));
    if (bulkBar) updateSelection();

    var query = new URLSearchParams();
    FILTER_KEYS.concat(['after']).forEach(function (k) { if (params.get(k)) query.set(k, params.get(k)); });
    var firstPage = !params.get('after');
    live(function () {
      return api('/jobs?' + query).then(function (page) {
        var head = ['Job', 'Kind', 'Status', 'Repository', 'Attempts', 'Created', 'Finished'];
        if (canAct()) head.unshift('Select');
        replace(list, page.jobs.length === 0 ? h('p', { class: 'muted', text: 'No jobs match.' })
          : table('Jobs', head, page.jobs.map(function (j) {
            var box = canAct() ? h('td', null, h('input', { type: 'checkbox', class: 'pick', 'aria-label': 'Select job #' + j.id,
              checked: !!selected[j.id], onchange: function (e) { selected[j.id] = e.target.checked; updateSelection(); } })) : null;
            return h('tr', { 'data-job': j.id }, box,
              h('td', null, h('a', { href: '/dashboard/jobs/' + j.id, text: '#' + j.id })),
              h('td', { text: j.kind }), h('td', null, badge(j.status)),
              h('td', { class: 'mono', text: (j.repo || '') + (j.pull_request ? ' #' + j.pull_request : '') }),
              h('td', { text: j.attempt_count + ' / ' + j.max_attempts }),
              h('td', null, time(j.created_at)), h('td', null, time(j.finished_at)));
          })));
        var older = new URLSearchParams(query);
        var newest = new URLSearchParams(query);
        newest.delete('after');
        if (page.next_after) older.set('after', page.next_after);
        replace(pager,
          firstPage ? null : h('a', { href: '/dashboard/jobs' + (newest.toString() ? '?' + newest : ''), text: '← Newest' }),
          page.next_after ? h('a', { href: '/dashboard/jobs?' + older, rel: 'next', text: 'Older →' }) : null);
        // Only the newest page follows new jobs; a deeper page stays as it was opened.
        return firstPage;
      });
    });
  }

  // ---- job detail ---------------------------------------------------------------------------------------------

  function job(id) {
    document.title = 'Job #' + id + ' · bisectbot';
    var body = h('div', { id: 'job' });
    replace(main, h('p', { class: 'crumbs' }, h('a', { href: '/dashboard/jobs', text: 'Jobs' }), ' › #' + id), body);
    live(function () {
      return Promise.all([api('/job/' + id), api('/job/' + id + '/logs').catch(function () { return { steps: [] }; })])
        .then(function (answers) {
          // A bisect job's page also follows its search; the second look is in the same round of the loop.
          var bisect = answers[0].kind === 'bisect' ? api('/job/' + id + '/bisect') : Promise.resolve(null);
          return bisect.then(function (b) {
            renderJob(body, answers[0], answers[1].steps, b);
            return FINAL.indexOf(answers[0].status) < 0;
          });
        });
    });
  }

  function act(id, action) {
    return api('/jobs/' + id + '/' + action, { method: 'POST' }).then(function (j) {
      if (action === 'retry') {
        toast('Retried as job #' + j.id + '.');
        location.assign('/dashboard/jobs/' + j.id);
      } else {
        // The page's live loop shows the job ending.
        toast('Cancel requested for job #' + id + '.');
      }
    }, function (e) { toast(e.message, true); });
  }

  var WRITE_LABELS = { comment: 'Comment on GitHub', check_run: 'Check run on GitHub', pull_request: 'Pull request on GitHub' };

  // Only web addresses become links, whatever the stored answer holds.
  function safeUrl(url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
  }

  // What the job wrote on GitHub: a link once delivered, else its state.
  function githubWrite(w) {
    var label = (WRITE_LABELS[w.type] || w.type) + (w.type === 'pull_request' && w.id ? ' #' + w.id : '');
    var url = safeUrl(w.url);
    return h('li', { 'data-write': w.type, 'data-state': w.state },
      url ? h('a', { href: url, rel: 'noopener noreferrer', text: label }) : h('span', { text: label }),
      w.state !== 'delivered' ? h('span', { class: 'muted small', text: ' · ' + w.state }) : null);
  }

  // ---- bisect view --------------------------------------------------------------------------------------------

  var REPORT_TAGS = ['H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'P', 'UL', 'OL', 'LI', 'A', 'CODE', 'PRE', 'EM', 'STRONG', 'TABLE',
    'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'DETAILS', 'SUMMARY', 'BLOCKQUOTE', 'HR', 'BR', 'DEL'];

  // The report's HTML (rendered by the server with every tag of the Markdown escaped) is parsed into an inert document
  // and copied element by element: only the tags above, no attribute but a web or same-site link's href.
  function reportNodes(html) {
    var parsed = new DOMParser().parseFromString(html, 'text/html');
    var out = document.createDocumentFragment();
    function copy(from, to) {
      Array.prototype.forEach.call(from.childNodes, function (n) {
        if (n.nodeType === 3) { to.appendChild(document.createTextNode(n.nodeValue)); return; }
        if (n.nodeType !== 1) return;
        if (REPORT_TAGS.indexOf(n.tagName) < 0) { copy(n, to); return; }
        var el = document.createElement(n.tagName.toLowerCase());
        if (n.tagName === 'A') {
          var href = n.getAttribute('href') || '';
          if (safeUrl(href) || /^\/(?![\/\\])/.test(href)) { el.setAttribute('href', href); el.setAttribute('rel', 'noopener noreferrer'); }
        }
        copy(n, el);
        to.appendChild(el);
      });
    }
    copy(parsed.body, out);
    return out;
  }

  function shortSha(sha) {
    return sha ? String(sha).substring(0, 10) : '';
  }

  var OUTCOMES = {
    first_bad: 'First bad commit found', only_skipped_left: 'Only skipped commits are left', ends_not_as_expected: 'The ends do not behave as stated',
    merge_base_bad: 'The merge base is bad', aborted: 'Stopped', no_significant_change: 'No significant change'
  };

  // A tested commit: its short sha coloured by its verdict, and for repeated runs how many passed and failed.
  function commitChip(sha, c, flaky, running) {
    var verdict = running ? 'running' : c && c.verdict ? c.verdict : 'pending';
    return h('span', { class: 'chip v-' + verdict, 'data-commit': sha, 'data-verdict': verdict, title: sha + ' · ' + verdict },
      h('span', { class: 'mono', text: shortSha(sha) }),
      flaky && c ? h('span', { class: 'tally', text: ' ' + c.passes + '✓ ' + c.failures + '✗' + (c.skips ? ' ' + c.skips + ' skip' : '') }) : null);
  }

  function logLink(jobId, step, text) {
    return step ? h('a', { href: '/dashboard/jobs/' + jobId + '/logs/' + encodeURIComponent(step), text: text || 'log' }) : null;
  }

  function renderBisect(j, b) {
    var commits = {};
    (b.commits || []).forEach(function (c) { commits[c.commit] = c; });
    var running = {};
    (b.running || []).forEach(function (r) { running[r.commit] = true; });
    var flaky = b.repeat && b.repeat.runs > 1;
    var parts = [];

    if (b.outcome) {
      var o = b.outcome;
      var culprit = b.culprit;
      parts.push(section('Outcome', h('div', { id: 'bisect-outcome', 'data-outcome': o.type },
        h('p', { class: 'outcome' }, h('strong', { text: OUTCOMES[o.type] || o.type })),
        culprit ? h('div', { id: 'culprit' },
          h('p', null, h('span', { class: 'mono sha', id: 'culprit-sha', text: culprit.sha }), ' ', h('span', { id: 'culprit-subject', text: culprit.subject || '' })),
          h('p', { class: 'muted small', text: [culprit.author, culprit.date ? new Date(culprit.date).toLocaleString() : null].filter(Boolean).join(' · ') }),
          h('ul', { class: 'plain', id: 'culprit-links' },
            safeUrl(culprit.commit_url) ? h('li', null, h('a', { href: culprit.commit_url, rel: 'noopener noreferrer', text: 'The commit on the repository\u2019s site' })) : null,
            (culprit.logs || []).map(function (step) { return h('li', null, 'Its run: ', logLink(j.id, step, step)); }),
            b.report_url ? h('li', null, h('a', { href: b.report_url, text: 'Report (Markdown)' })) : null)) : null,
        o.reason || o.message || o.advice ? h('p', { class: 'ev-detail', text: o.reason || o.message || o.advice }) : null,
        o.type === 'only_skipped_left' ? h('p', null, 'Any of: ', (o.candidates || []).map(function (c) { return commitChip(c.sha, commits[c.sha], flaky, false); })) : null)));
    }

    var total = b.candidate_count;
    parts.push(section('Bisection', h('div', { id: 'bisect' },
      h('p', { class: 'muted small', id: 'bisect-range' },
        (b.good || []).map(shortSha).join(', ') + ' (good) .. ' + shortSha(b.bad) + ' (bad)'
          + (total ? ' · ' + plural(total, 'commit', 'commits') + ' to search' : '')
          + (flaky ? ' · ' + b.repeat.runs + ' runs per commit (' + b.repeat.rule + ')' : '')),
      (b.running || []).length ? h('ul', { class: 'plain', id: 'bisect-running' }, b.running.map(function (r) {
        return h('li', { 'data-commit': r.commit }, h('span', { class: 'badge s-running', text: 'running' }), ' ',
          h('span', { class: 'mono', text: shortSha(r.commit) }), h('span', { class: 'muted small', text: ' · ' + r.purpose + ' · run ' + r.run + ' ' }),
          logLink(j.id, r.log, 'follow its log'));
      })) : null,
      (b.rounds || []).length === 0 ? h('p', { class: 'muted', text: j.status === 'PENDING' ? 'Not started yet.' : 'No round has started yet.' })
        : h('ol', { class: 'rounds', id: 'rounds' }, b.rounds.map(function (r) {
          return h('li', { 'data-round': r.round },
            h('span', { class: 'round-name', text: r.round === 0 ? 'Ends' : 'Round ' + r.round }),
            r.commits_left !== null && r.commits_left !== undefined
              ? h('span', { class: 'left' }, h('meter', { min: 0, max: total || r.commits_left, value: r.commits_left, 'aria-label': 'commits left' }),
                h('span', { class: 'n', text: ' ' + plural(r.commits_left, 'commit', 'commits') + ' left' }))
              : h('span', { class: 'left muted small', text: 'checking the good and bad ends' }),
            h('span', { class: 'tested' }, r.tested.map(function (sha) { return commitChip(sha, commits[sha], flaky, running[sha]); })));
        })))));

    if (flaky && (b.commits || []).length) {
      parts.push(section('Runs per commit', table('Runs per commit', ['Commit', 'Passed', 'Failed', 'Skipped', 'Verdict'],
        b.commits.map(function (c) {
          return h('tr', { 'data-commit': c.commit }, h('td', { class: 'mono', text: shortSha(c.commit) }),
            h('td', { class: 'passes', text: String(c.passes) }), h('td', { class: 'failures', text: String(c.failures) }),
            h('td', { text: String(c.skips) }), h('td', null, c.verdict ? h('span', { class: 'chip v-' + c.verdict, text: c.verdict }) : h('span', { class: 'muted', text: 'deciding' })));
        }))));
    }

    if ((b.steps || []).length) {
      parts.push(section('Runs', table('Runs', ['#', 'Commit', 'Subject', 'Purpose', 'Run', 'Result', 'Verdict', 'Duration', 'Round', ''],
        b.steps.map(function (s) {
          return h('tr', { 'data-seq': s.seq }, h('td', { text: String(s.seq) }), h('td', { class: 'mono', text: shortSha(s.commit) }),
            h('td', { text: s.subject || '' }), h('td', { text: s.purpose.replace(/_/g, ' ') }), h('td', { text: String(s.run) }),
            h('td', { text: s.outcome === 'exited' ? 'exit ' + s.exit_code : (s.outcome || '').replace(/_/g, ' ') }),
            h('td', null, s.verdict ? h('span', { class: 'chip v-' + s.verdict, text: s.verdict }) : '—'),
            h('td', { text: duration(Math.round(s.duration_ms / 1000)) }),
            h('td', { text: s.round === null || s.round === undefined ? '' : s.round === 0 ? 'ends' : String(s.round) }),
            h('td', null, s.reused ? h('span', { class: 'muted small', text: 'reused' }) : logLink(j.id, s.log)));
        }))));
    }

    if (b.report_html) {
      parts.push(h('section', { class: 'card report', 'aria-label': 'Report', id: 'report' }, h('h2', { text: 'Report' }),
        h('div', { class: 'report-body' }, reportNodes(b.report_html))));
    }
    return parts;
  }

  function renderJob(body, j, steps, bisect) {
    var actions = h('div', { class: 'actions' });
    if (canAct()) {
      if (j.status === 'FAILED' || j.status === 'CANCELLED') {
        append(actions, h('button', { type: 'button', id: 'retry', class: 'primary', text: 'Retry', onclick: function () { act(j.id, 'retry'); } }));
      }
      if (j.status === 'PENDING' || j.status === 'RUNNING') {
        append(actions, h('button', { type: 'button', id: 'cancel', class: 'danger', disabled: j.cancel_requested,
          text: j.cancel_requested ? 'Cancelling…' : 'Cancel', onclick: function () { act(j.id, 'cancel'); } }));
      }
    } else {
      append(actions, h('span', { class: 'muted small', text: 'Read only: acting on jobs needs an operator token.' }));
    }
    var github = j.payload && j.payload.github;
    var links = [];
    if (github && github.owner && github.repo && github.issue_number) {
      links.push(h('li', null, h('a', { href: 'https://github.com/' + encodeURIComponent(github.owner) + '/' + encodeURIComponent(github.repo)
        + '/issues/' + encodeURIComponent(github.issue_number), rel: 'noopener noreferrer', text: github.owner + '/' + github.repo + ' #' + github.issue_number })));
    }
    (j.github_writes || []).forEach(function (w) { links.push(githubWrite(w)); });
    if (j.kind === 'bisect') links.push(h('li', null, h('a', { href: '/job/' + j.id + '/report', text: 'Report (Markdown)' })));
    if (j.retry_of) links.push(h('li', null, 'Retry of ', h('a', { href: '/dashboard/jobs/' + j.retry_of, text: '#' + j.retry_of })));
    links.push(h('li', null, h('a', { href: '/job/' + j.id, text: 'This job as JSON' })));

    var facts = [
      ['Status', badge(j.status)], ['Attempts', j.attempt_count + ' of ' + j.max_attempts], ['Priority', String(j.priority)],
      ['Runs at', time(j.run_at)], ['Worker', j.worker_id ? h('span', { class: 'mono', text: j.worker_id }) : '—'],
      ['Created', time(j.created_at)], ['Started', time(j.started_at)], ['Finished', time(j.finished_at)],
      ['Last heartbeat', time(j.heartbeat_at)], ['Dedup key', j.dedup_key || '—']
    ];
    replace(body,
      h('div', { class: 'title-row' }, h('h1', null, 'Job #' + j.id + ' ', h('span', { class: 'muted', text: j.kind }), ' ', badge(j.status)), actions),
      h('div', { class: 'grid' },
        section('Summary', h('dl', { class: 'facts' }, facts.map(function (f) { return [h('dt', { text: f[0] }), h('dd', null, f[1])]; }))),
        section('Links', h('ul', { class: 'plain' }, links))),
      bisect ? renderBisect(j, bisect) : null,
      j.waiting && j.waiting.length ? section('Why it is not running', h('ul', { class: 'plain waiting', id: 'waiting' }, j.waiting.map(function (w) {
        return h('li', { 'data-code': w.code }, w.message);
      }))) : null,
      j.last_error ? section('Error', h('pre', { class: 'error-text', id: 'last-error', text: j.last_error })) : null,
      section('Step logs', steps.length === 0 ? h('p', { class: 'muted', text: 'No step has written output.' })
        : h('ul', { class: 'plain', id: 'steps' }, steps.map(function (s) {
          return h('li', null, h('a', { href: '/dashboard/jobs/' + j.id + '/logs/' + encodeURIComponent(s.step), text: s.step }),
            h('span', { class: 'muted small', text: ' · ' + s.chunks + ' chunks · started ' }), time(s.started_at));
        }))),
      section('Timeline', h('ol', { class: 'timeline', id: 'timeline' }, (j.events || []).map(function (e) {
        return h('li', { 'data-type': e.type }, h('span', { class: 'ev-type', text: e.type.replace(/_/g, ' ') }), ' ', time(e.at),
          e.attempt ? h('span', { class: 'muted small', text: ' · attempt ' + e.attempt }) : null,
          e.worker_id ? h('span', { class: 'muted small mono', text: ' · ' + e.worker_id }) : null,
          e.actor ? h('span', { class: 'muted small actor', text: ' · by ' + e.actor }) : null,
          e.detail ? h('div', { class: 'ev-detail', text: e.detail }) : null);
      }))),
      j.callbacks && j.callbacks.length ? section('Callbacks', h('ul', { class: 'plain', id: 'callbacks' }, j.callbacks.map(function (c) {
        return h('li', { 'data-event': c.event_id },
          h('span', { class: 'ev-type', text: c.type }), ' → ', h('span', { class: 'mono small', text: mask(c.url) }), ' ', badge(c.status),
          h('span', { class: 'muted small', text: ' · ' + plural(c.attempts, 'attempt', 'attempts') }),
          c.last_error ? h('div', { class: 'ev-detail', text: c.last_error }) : null,
          c.attempt_log && c.attempt_log.length ? h('ol', { class: 'attempts small' }, c.attempt_log.map(function (a) {
            return h('li', { 'data-status': a.status_code === null ? 'none' : String(a.status_code) }, time(a.at), ' · ',
              a.status_code === null ? 'no answer' : 'HTTP ' + a.status_code, ' · ' + a.duration_ms + ' ms',
              a.error ? h('span', { class: 'muted', text: ' · ' + a.error }) : null);
          })) : null);
      }))) : null,
      section('Payload', h('pre', { id: 'payload', text: JSON.stringify(mask(j.payload), null, 2) })),
      j.result !== null && j.result !== undefined ? section('Result', h('pre', { id: 'result', text: JSON.stringify(mask(j.result), null, 2) })) : null);
    refreshTimes();
  }

  // ---- live log -----------------------------------------------------------------------------------------------

  var ANSI_COLOURS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

  // Renders SGR colour and bold codes as classed spans and drops every other escape sequence.
  function ansi(text) {
    var out = [];
    var classes = [];
    var re = /\u001b\[([0-9;]*)([A-Za-z])/g;
    var last = 0;
    var m;
    function push(s) {
      if (!s) return;
      out.push(classes.length ? h('span', { class: classes.join(' '), text: s }) : document.createTextNode(s));
    }
    while ((m = re.exec(text)) !== null) {
      push(text.substring(last, m.index));
      last = re.lastIndex;
      if (m[2] !== 'm') continue;
      (m[1] === '' ? ['0'] : m[1].split(';')).forEach(function (code) {
        var n = parseInt(code, 10);
        if (n === 0) classes = [];
        else if (n === 1) classes.push('a-bold');
        else if (n >= 30 && n <= 37) classes.push('a-' + ANSI_COLOURS[n - 30]);
        else if (n >= 90 && n <= 97) classes.push('a-' + ANSI_COLOURS[n - 90]);
      });
    }
    push(text.substring(last));
    return out;
  }

  function logPage(id, step) {
    document.title = step + ' · job #' + id + ' · bisectbot';
    var state = h('span', { id: 'log-state', class: 'badge s-running', text: 'following' });
    var follow = h('input', { type: 'checkbox', id: 'follow', checked: true });
    var out = h('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Output of step ' + step });
    replace(main,
      h('p', { class: 'crumbs' }, h('a', { href: '/dashboard/jobs', text: 'Jobs' }), ' › ', h('a', { href: '/dashboard/jobs/' + id, text: '#' + id }), ' › ' + step),
      h('div', { class: 'title-row' }, h('h1', { text: step }), state,
        h('label', { class: 'toggle' }, follow, ' Follow')),
      out);
    var next = 0;
    live(function () {
      return Promise.all([api('/job/' + id + '/logs/' + encodeURIComponent(step) + '?from=' + next), api('/job/' + id)])
        .then(function (answers) {
          var chunks = answers[0].chunks;
          chunks.forEach(function (c) {
            append(out, h('span', { class: 'chunk st-' + c.stream.toLowerCase() }, ansi(c.content)));
          });
          next = answers[0].next_seq;
          if (chunks.length && follow.checked) out.scrollTop = out.scrollHeight;
          if (chunks.length === 0 && FINAL.indexOf(answers[1].status) >= 0) {
            state.textContent = 'ended · job ' + answers[1].status.toLowerCase();
            state.className = 'badge s-' + answers[1].status.toLowerCase();
            return false;
          }
          return true;
        });
    });
  }

  // ---- dead letters -------------------------------------------------------------------------------------------

  function deadLetters() {
    document.title = 'Dead letters · bisectbot';
    var body = h('div', { id: 'dead-letters' });
    replace(main, h('h1', { text: 'Dead letters' }),
      h('p', { class: 'muted' }, 'What failed for good and waits for someone: GitHub writes the outbox gave up on, webhook deliveries whose processing failed, callbacks no receiver took.'),
      body);
    function button(id, label, path, payload, needs) {
      var allowed = needs === 'admin' ? session.role === 'admin' : canAct();
      if (!allowed) return h('span', { class: 'muted small', text: 'needs ' + needs });
      return h('button', { type: 'button', id: id, text: label, onclick: function (e) {
        e.target.disabled = true;
        api(path, { method: 'POST', body: payload }).then(function () {
          toast(label + ': done.');
          refresh();
        }, function (err) { e.target.disabled = false; toast(err.message, true); });
      } });
    }
    function titled(title, section, rows, empty) {
      return h('section', { class: 'card', 'aria-label': title },
        h('h2', null, title + ' ', h('span', { class: 'muted', 'data-total': title, text: '(' + section.total + ')' })),
        section.items.length === 0 ? h('p', { class: 'muted', text: empty }) : rows,
        section.total > section.items.length ? h('p', { class: 'muted small', text: 'The newest ' + section.items.length + ' of ' + section.total + ' shown.' }) : null);
    }
    function refresh() {
      return api('/admin/dead-letters').then(function (d) {
        replace(body,
          titled('GitHub writes', d.outbox, table('GitHub writes', ['Write', 'Action', 'Installation', 'Attempts', 'Reason', 'Given up', ''],
            d.outbox.items.map(function (o) {
              return h('tr', { 'data-outbox': o.id }, h('td', { class: 'mono', text: '#' + o.id }), h('td', { text: o.action }),
                h('td', { text: String(o.installation_id) }), h('td', { text: String(o.attempts) }),
                h('td', { class: 'reason', text: o.last_error || '' }), h('td', null, time(o.dead_at)),
                h('td', null, button('retry-outbox-' + o.id, 'Retry', '/admin/outbox/' + o.id + '/retry', undefined, 'operator')));
            })), 'No GitHub write has failed for good.'),
          titled('Webhook deliveries', d.deliveries, table('Webhook deliveries', ['Delivery', 'Event', 'Installation', 'Received', 'Reason', 'Job', ''],
            d.deliveries.items.map(function (x) {
              return h('tr', { 'data-delivery': x.delivery_id }, h('td', { class: 'mono small', text: x.delivery_id }),
                h('td', { text: x.event + (x.action ? '.' + x.action : '') }), h('td', { text: x.installation_id === null ? '—' : String(x.installation_id) }),
                h('td', null, time(x.received_at)), h('td', { class: 'reason', text: x.error || '' }),
                h('td', null, h('a', { href: '/dashboard/jobs/' + x.job_id, text: '#' + x.job_id })),
                h('td', null, button('reprocess-' + x.delivery_id, 'Reprocess', '/admin/deliveries/' + encodeURIComponent(x.delivery_id) + '/reprocess', undefined, 'admin')));
            })), 'No delivery has failed for good.'),
          titled('Callbacks', d.callbacks, table('Callbacks', ['Event', 'Job', 'Receiver', 'Attempts', 'Reason', 'Given up', ''],
            d.callbacks.items.map(function (c) {
              return h('tr', { 'data-callback': c.id }, h('td', { text: c.type }),
                h('td', null, h('a', { href: '/dashboard/jobs/' + c.job_id, text: '#' + c.job_id })),
                h('td', { class: 'mono small', text: c.target }), h('td', { text: String(c.attempts) }),
                h('td', { class: 'reason', text: c.last_error || '' }), h('td', null, time(c.dead_at)),
                h('td', null, button('replay-' + c.id, 'Replay job\u2019s callbacks', '/admin/callbacks/replay', { job: c.job_id }, 'operator')));
            })), 'No callback has failed for good.'));
      });
    }
    // Drawn once (and after each action): a list that redraws itself would take the keyboard focus away.
    live(function () { return refresh().then(function () { return false; }); });
  }

  // ---- start --------------------------------------------------------------------------------------------------

  function route() {
    var path = location.pathname.replace(/\/+$/, '');
    var m;
    var nav = 'overview';
    if (path === '/dashboard/jobs') { nav = 'jobs'; jobs(); }
    else if (path === '/dashboard/dead-letters') { nav = 'dead-letters'; deadLetters(); }
    else if ((m = /^\/dashboard\/jobs\/(\d+)\/logs\/(.+)$/.exec(path))) { nav = 'jobs'; logPage(m[1], decodeURIComponent(m[2])); }
    else if ((m = /^\/dashboard\/jobs\/(\d+)$/.exec(path))) { nav = 'jobs'; job(m[1]); }
    else overview();
    Array.prototype.forEach.call(document.querySelectorAll('[data-nav]'), function (a) {
      if (a.getAttribute('data-nav') === nav) a.setAttribute('aria-current', 'page');
    });
  }

  document.getElementById('logout').addEventListener('click', function () {
    api('/dashboard/logout', { method: 'POST' }).then(function () { location.assign('/dashboard/login'); },
      function (e) { toast(e.message, true); });
  });
  setInterval(refreshTimes, 15000);

  api('/dashboard/session').then(function (s) {
    session.role = s.role;
    session.csrf = s.csrf_token;
    document.getElementById('who').textContent = s.role ? 'Signed in as ' + s.role : '';
    route();
  }).catch(function (e) {
    if (e.status !== 401) replace(main, h('p', { class: 'error', text: e.message }));
  });
})();

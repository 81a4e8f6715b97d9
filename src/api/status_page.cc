#include "api/status_page.h"

namespace gatilho {

namespace {

// Text goes into the page with textContent only, so nothing the store holds (refs, URLs) can
// become markup. The fragment is removed from the address bar once read, so the token does not
// stay in screenshots or in the history.
constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gatilho status</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2430;background:#f6f7f9}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.85rem}
th,td{border:1px solid #d5d9e0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#e9ecf1}td.empty{color:#6b7480;font-style:italic}
#message{padding:.6rem .8rem;margin:.8rem 0;border-radius:4px;display:none}
#message.error{display:block;background:#fde8e8;border:1px solid #e5a0a0}
#message.info{display:block;background:#e8f0fd;border:1px solid #a0b8e5}
#login{margin:.8rem 0}#meta{color:#6b7480;font-size:.85rem}
</style>
</head>
<body>
<h1>gatilho status</h1>
<div id="meta">read-only; refreshed every 10 s</div>
<div id="message"></div>
<form id="login" hidden>
<label>Local API token <input id="token" type="password" autocomplete="off"></label>
<button type="submit">Show</button>
</form>
<div id="data" hidden>
<h2>Pending documents (<span id="pending-total">0</span>)</h2>
<table id="pending"><thead><tr><th>company</th><th>type</th><th>ref</th><th>state</th>
<th>cycle</th><th>last status</th><th>polls</th><th>next poll</th></tr></thead><tbody></tbody>
</table>
<h2>Recent events</h2>
<table id="events"><thead><tr><th>created</th><th>company</th><th>document</th><th>event</th>
<th>state</th><th>attempts</th><th>id</th></tr></thead><tbody></tbody></table>
<h2>Failing endpoints</h2>
<table id="endpoints"><thead><tr><th>endpoint</th><th>breaker</th></tr></thead><tbody></tbody>
</table>
<h2>Credits per token</h2>
<table id="tokens"><thead><tr><th>token</th><th>companies</th><th>limit</th><th>share cap</th>
<th>used in window</th><th>available</th><th>paused</th></tr></thead><tbody></tbody></table>
</div>
<script>
(function () {
  'use strict';
  var KEY = 'gatilho-api-token';
  var message = document.getElementById('message');
  function show(kind, text) { message.className = kind; message.textContent = text; }
  function fill(id, rows, empty) {
    var body = document.querySelector('#' + id + ' tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    if (rows.length === 0) {
      var tr = body.insertRow(), td = tr.insertCell();
      td.colSpan = document.querySelectorAll('#' + id + ' th').length;
      td.className = 'empty';
      td.textContent = empty;
      return;
    }
    rows.forEach(function (cells) {
      var tr = body.insertRow();
      cells.forEach(function (cell) {
        tr.insertCell().textContent = cell === null || cell === undefined ? '-' : String(cell);
      });
    });
  }
  function render(s) {
    document.getElementById('data').hidden = false;
    document.getElementById('pending-total').textContent = String(s.pending_total);
    fill('pending', s.pending.map(function (w) {
      return [w.company, w.type, w.ref, w.state, w.cycle, w.last_status || '-', w.polls,
              w.next_poll];
    }), 'nothing pending');
    fill('events', s.recent_events.map(function (e) {
      return [e.created, e.company, e.type + '/' + e.ref, e.event, e.state, e.attempts, e.id];
    }), 'no events yet');
    fill('endpoints', s.failing_endpoints.map(function (p) {
      return [p.sink, p.breaker];
    }), 'every endpoint is working');
    fill('tokens', s.tokens.map(function (t) {
      return [t.token, t.companies, t.limit, t.share_cap, t.used_in_window, t.available,
              t.paused ? 'yes' : 'no'];
    }), 'no token figures yet');
    show('info', 'as of ' + s.generated);
  }
  function wrongToken() {
    sessionStorage.removeItem(KEY);
    document.getElementById('data').hidden = true;
    document.getElementById('login').hidden = false;
    show('error', 'Wrong token: the local API refused it. Enter the token of api_token_file.');
  }
  var timer = null;
  function load(token) {
    fetch('/v1/status', {headers: {'Authorization': 'Bearer ' + token}, cache: 'no-store'})
      .then(function (response) {
        if (response.status === 401) { wrongToken(); return null; }
        if (!response.ok) {
          return response.json().then(function (e) { show('error', e.message); return null; });
        }
        return response.json();
      })
      .then(function (status) {
        if (!status) return;
        document.getElementById('login').hidden = true;
        render(status);
        if (timer === null) timer = setInterval(function () { load(token); }, 10000);
      })
      .catch(function (error) { show('error', 'Could not reach gatilho: ' + error); });
  }
  var fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has('token')) {
    sessionStorage.setItem(KEY, fragment.get('token'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  document.getElementById('login').addEventListener('submit', function (event) {
    event.preventDefault();
    var token = document.getElementById('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    load(token);
  });
  var saved = sessionStorage.getItem(KEY);
  if (saved) {
    load(saved);
  } else {
    document.getElementById('login').hidden = false;
    show('info', 'Enter the local API token, or open /status#token=YOUR-TOKEN.');
  }
})();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view StatusPageHtml() {
  return kPage;
}

}  // namespace gatilho

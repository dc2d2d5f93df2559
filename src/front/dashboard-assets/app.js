// The dashboard page: renders what /dashboard/events says (capacity, one row per browser), keeps
// each row's thumbnail fresh about once a second while the page is visible, and ends a browser
// on End. Text goes in with textContent only: page titles and URLs come from the browsed sites.
'use strict';

const rows = new Map();
const tbody = document.querySelector('#browsers tbody');
const empty = document.getElementById('empty');
const capacity = document.getElementById('capacity');

const seconds = (ms) => (ms < 60000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60000)} min`);
const megabytes = (bytes) => `${Math.round(bytes / 1048576)} MB`;

function cell(row, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function newRow(id) {
  const tr = document.createElement('tr');
  tr.dataset.id = id;
  const img = document.createElement('img');
  img.className = 'thumb';
  img.alt = 'page thumbnail';
  cell(tr).appendChild(img);
  const cells = {};
  for (const name of ['session', 'client', 'token', 'age', 'idle', 'tool', 'url', 'tabs', 'memory']) cells[name] = cell(tr, name);
  const end = document.createElement('button');
  end.className = 'end';
  end.textContent = 'End';
  end.addEventListener('click', async () => {
    end.disabled = true;
    await fetch(`/dashboard/browsers/${encodeURIComponent(id)}/end`, { method: 'POST' });
  });
  cell(tr).appendChild(end);
  tbody.appendChild(tr);
  return { tr, img, cells };
}

function render(state) {
  const c = state.capacity;
  capacity.replaceChildren(...[
    `Browsers in use: ${c.inUse} of ${c.max}`, `Waiting: ${c.queued}`, `Warm: ${c.warm}`, `Free memory: ${megabytes(c.freeMemoryBytes)}`,
  ].map((text) => Object.assign(document.createElement('div'), { textContent: text })));
  const seen = new Set();
  for (const b of state.browsers) {
    seen.add(b.id);
    const row = rows.get(b.id) ?? rows.set(b.id, newRow(b.id)).get(b.id);
    const v = row.cells;
    v.session.textContent = b.sessionId ? b.sessionId.slice(0, 8) : `handle ${b.handlePrefix}`;
    v.client.textContent = b.clientName ?? '';
    v.token.textContent = b.token ?? '';
    v.age.textContent = seconds(b.ageMs);
    v.idle.textContent = b.tool ? '' : seconds(b.idleMs);
    v.tool.textContent = b.tool ?? '';
    v.url.textContent = b.title ? `${b.url} (${b.title})` : b.url;
    v.tabs.textContent = String(b.pages);
    v.memory.textContent = megabytes(b.rssBytes);
  }
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  empty.hidden = rows.size > 0;
}

function refreshThumbnails() {
  if (document.visibilityState !== 'visible') return;
  for (const [id, row] of rows) row.img.src = `/dashboard/thumbnail/${encodeURIComponent(id)}?t=${Date.now()}`;
}

const events = new EventSource('/dashboard/events');
events.addEventListener('state', (event) => render(JSON.parse(event.data)));
setInterval(refreshThumbnails, 1000);

// Recent recordings (--record), with their downloads; refreshed every 10 s.
async function refreshRecordings() {
  const list = document.getElementById('recordings');
  const response = await fetch('/dashboard/recordings').catch(() => undefined);
  if (!response?.ok) return;
  const { recordings } = await response.json();
  list.replaceChildren(...recordings.map((r) => {
    const item = document.createElement('li');
    item.append(`${r.sessionId ? r.sessionId.slice(0, 8) : r.id.slice(0, 8)}, ended ${new Date(r.endedAt).toLocaleString()}: `);
    for (const kind of ['trace', 'video']) {
      if (!r.files.some((f) => (kind === 'trace' ? f === 'trace.zip' : f.endsWith('.webm')))) continue;
      const link = Object.assign(document.createElement('a'), { href: `/dashboard/recordings/${encodeURIComponent(r.id)}/${kind}`, textContent: kind });
      item.append(link, ' ');
    }
    return item;
  }));
  if (recordings.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'None (see --record).' }));
}
refreshRecordings();
setInterval(refreshRecordings, 10000);

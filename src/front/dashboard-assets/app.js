// The dashboard page: renders what /dashboard/events says (capacity, one row per browser), keeps
// each row's thumbnail fresh about once a second while the page is visible, ends a browser on
// End, and lets the operator answer a browser_annotate call by drawing boxes on its screenshot.
// Text goes in with textContent only: page titles and URLs come from the browsed sites.
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
  const annotateButton = document.createElement('button');
  annotateButton.className = 'annotate';
  annotateButton.textContent = 'Annotate';
  annotateButton.hidden = true;
  annotateButton.addEventListener('click', () => openAnnotator(id));
  const end = document.createElement('button');
  end.className = 'end';
  end.textContent = 'End';
  end.addEventListener('click', async () => {
    end.disabled = true;
    await fetch(`/dashboard/browsers/${encodeURIComponent(id)}/end`, { method: 'POST' });
  });
  const actions = cell(tr);
  actions.append(annotateButton, end);
  tbody.appendChild(tr);
  return { tr, img, cells, annotateButton };
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
    row.annotateButton.hidden = b.annotationSince === null;
    if (annotating === b.id && b.annotationSince === null) closeAnnotator();
  }
  if (annotating && !seen.has(annotating)) closeAnnotator();
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

// Annotating: the operator drags boxes on the page's screenshot and writes a note for each; the
// boxes go back in CSS pixels of the browser's viewport, whatever size the image is shown at.
const annotator = document.getElementById('annotator');
const canvas = document.getElementById('annotator-canvas');
const shot = document.getElementById('annotator-image');
const notes = document.getElementById('annotator-notes');
let annotating = null;
let request = null;
let boxes = [];

function closeAnnotator() {
  annotating = null;
  request = null;
  boxes = [];
  annotator.hidden = true;
  notes.replaceChildren();
  for (const frame of canvas.querySelectorAll('.box')) frame.remove();
}

async function openAnnotator(id) {
  const response = await fetch(`/dashboard/browsers/${encodeURIComponent(id)}/annotation`);
  if (!response.ok) {
    // The call ended since the last update: the next one shows the button again if another waits.
    const row = rows.get(id);
    if (row) row.annotateButton.hidden = true;
    return;
  }
  closeAnnotator();
  annotating = id;
  request = await response.json();
  document.getElementById('annotator-page').textContent = request.title ? `${request.url} (${request.title})` : request.url;
  shot.src = `/dashboard/browsers/${encodeURIComponent(id)}/annotation.png?t=${request.since}`;
  // A panel over the dashboard: rows coming and going below never move the image while a box is drawn.
  annotator.hidden = false;
}

/** CSS pixels of the browser per pixel of the image as shown. */
const scale = () => request.width / shot.clientWidth;

function addBox(box) {
  const number = boxes.length + 1;
  const frame = document.createElement('div');
  frame.className = 'box';
  Object.assign(frame.style, { left: `${box.x / scale()}px`, top: `${box.y / scale()}px`, width: `${box.width / scale()}px`, height: `${box.height / scale()}px` });
  frame.textContent = String(number);
  canvas.appendChild(frame);
  const item = document.createElement('li');
  const note = document.createElement('input');
  note.type = 'text';
  note.setAttribute('aria-label', `Note for box ${number}`);
  note.placeholder = 'What should the agent know about this?';
  item.appendChild(note);
  notes.appendChild(item);
  boxes.push({ ...box, note });
  note.focus();
}

let start = null;
let rubber = null;

/** Where `event` is on the image as shown, kept inside it. */
function pointOn(event) {
  const bounds = shot.getBoundingClientRect();
  return {
    x: Math.max(0, Math.min(event.clientX - bounds.left, bounds.width)),
    y: Math.max(0, Math.min(event.clientY - bounds.top, bounds.height)),
  };
}

/** The box between the drag's start and `event`, in pixels of the image as shown. */
function dragged(event) {
  const { x, y } = pointOn(event);
  return { x: Math.min(x, start.x), y: Math.min(y, start.y), width: Math.abs(x - start.x), height: Math.abs(y - start.y) };
}

shot.addEventListener('pointerdown', (event) => {
  if (!request) return;
  event.preventDefault();
  start = pointOn(event);
  rubber = Object.assign(document.createElement('div'), { className: 'box drawing' });
  canvas.appendChild(rubber);
  shot.setPointerCapture(event.pointerId);
});
shot.addEventListener('pointermove', (event) => {
  if (!start) return;
  const box = dragged(event);
  Object.assign(rubber.style, { left: `${box.x}px`, top: `${box.y}px`, width: `${box.width}px`, height: `${box.height}px` });
});
shot.addEventListener('pointerup', (event) => {
  if (!start) return;
  rubber.remove();
  const drawn = dragged(event);
  start = null;
  if (drawn.width < 4 || drawn.height < 4) return; // a click, not a box
  const s = scale();
  addBox({ x: drawn.x * s, y: drawn.y * s, width: Math.min(drawn.width * s, request.width - drawn.x * s), height: Math.min(drawn.height * s, request.height - drawn.y * s) });
});

async function answer(body) {
  const id = annotating;
  closeAnnotator();
  await fetch(`/dashboard/browsers/${encodeURIComponent(id)}/annotation`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
}
document.getElementById('annotator-send').addEventListener('click', () => {
  if (!request) return;
  void answer({ annotations: boxes.map(({ note, ...box }) => ({ ...box, text: note.value })) });
});
document.getElementById('annotator-cancel').addEventListener('click', () => {
  if (request) void answer({ cancelled: true });
});

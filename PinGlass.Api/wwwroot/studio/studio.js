// PinGlass studio: the public API, called as any client application calls it (its API key, the end user it acts for).
// No framework: the page is small, and a phone should load it at once.

const $ = (id) => document.getElementById(id);
const maxPhotos = 20;
const session = window.sessionStorage;

const state = {
  photos: [],          // { file, url }
  generation: null,    // the generation's id
  view: null,          // the last GET /v1/generations/{id}
  styles: new Map(),   // style id → name
  images: new Map(),   // portrait index → { source, url }: the object URL of the image last shown
  following: null,     // the AbortController of the event stream being read
};

// ---- Connection: a key in the link's fragment (never sent to a server) is taken into this tab's storage and out of the address bar.
function readConnection() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.has('key')) {
    session.setItem('pinglass.key', fragment.get('key'));
    if (fragment.has('user')) session.setItem('pinglass.user', fragment.get('user'));
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  $('api-key').value = session.getItem('pinglass.key') ?? '';
  $('user-id').value = session.getItem('pinglass.user') ?? $('user-id').value;
  $('api-key').addEventListener('change', () => session.setItem('pinglass.key', $('api-key').value.trim()));
  $('user-id').addEventListener('change', () => session.setItem('pinglass.user', $('user-id').value.trim()));
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${$('api-key').value.trim()}`, 'X-PinGlass-User': $('user-id').value.trim(), ...extra };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call to the Api; a throttle or a 503 is waited out as its Retry-After asks (a few times), anything else not ok is thrown. */
async function api(path, options = {}) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(path, { ...options, headers: headers(options.headers) });
    if ((response.status === 429 || response.status === 503) && attempt < 6) {
      const wait = Number(response.headers.get('Retry-After'));
      await sleep(Math.min(Number.isFinite(wait) && wait > 0 ? wait * 1000 : 2000, 30000));
      continue;
    }
    if (!response.ok) throw await Problem.from(response);
    return response;
  }
}

class Problem extends Error {
  constructor(status, body) {
    super(body?.title ?? `The Api answered ${status}`);
    this.status = status;
    this.body = body;
  }

  static async from(response) {
    let body = null;
    try { body = await response.json(); } catch { /* no problem document */ }
    return new Problem(response.status, body);
  }

  describe() {
    const fields = Object.entries(this.body?.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
    const refused = (this.body?.refused ?? []).map((file) => `${file.fileName}: ${file.message}`);
    return [this.message, this.body?.detail, ...fields, ...refused].filter(Boolean);
  }
}

function showProblem(element, error) {
  element.replaceChildren(...(error instanceof Problem ? error.describe() : [String(error.message ?? error)])
    .map((line) => Object.assign(document.createElement('p'), { textContent: line })));
}

// ---- Photos: picked or dropped, previewed before anything is sent.
function addPhotos(files) {
  const known = new Set(state.photos.map((p) => `${p.file.name}/${p.file.size}`));
  for (const file of files) {
    if (state.photos.length >= maxPhotos) break;
    if (!file.type.startsWith('image/') && !/\.(jpe?g|png|webp|heic)$/i.test(file.name)) continue;
    if (known.has(`${file.name}/${file.size}`)) continue;
    state.photos.push({ file, url: URL.createObjectURL(file) });
  }
  renderPhotos();
}

function renderPhotos() {
  const count = state.photos.length;
  $('photo-count').textContent = count === 0 ? 'No photos chosen.'
    : `${count} photo${count === 1 ? '' : 's'} chosen${count < 10 ? ': 10–20 give the best portraits' : ''}${count === maxPhotos ? ' (the most one upload takes)' : ''}.`;
  $('previews').replaceChildren(...state.photos.map(({ file, url }) => {
    const item = document.createElement('li');
    const image = Object.assign(document.createElement('img'), { src: url, alt: file.name, loading: 'lazy' });
    item.append(image, Object.assign(document.createElement('span'), { textContent: file.name }));
    return item;
  }));
  $('start').disabled = count === 0;
  $('clear').disabled = count === 0;
}

function clearPhotos() {
  state.photos.forEach((p) => URL.revokeObjectURL(p.url));
  state.photos = [];
  renderPhotos();
}

// ---- Starting a generation, and the quality report of its photos.
async function start() {
  const form = new FormData();
  state.photos.forEach(({ file }) => form.append('photos', file, file.name));
  if ($('budget').value) form.append('budget', $('budget').value);
  $('start').disabled = true;
  $('upload-problem').replaceChildren();
  $('start').textContent = 'Uploading and analysing…';
  let created;
  try {
    created = await (await api('/v1/generations', { method: 'POST', body: form })).json();
    renderReport(created.photos, created.refused);
  } catch (error) {
    if (error instanceof Problem && error.body?.photos) renderReport(error.body.photos, error.body.refused ?? []);
    showProblem($('upload-problem'), error);
  } finally {
    $('start').textContent = 'Start the generation';
    $('start').disabled = state.photos.length === 0;
  }
  if (created) await follow(created.id).catch((error) => showProblem($('generation-problem'), error));
}

function renderReport(photos, refused) {
  const rows = [...photos].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.fileName.localeCompare(b.fileName)).map((photo) => {
    const verdict = photo.chosen ? ['chosen', `Chosen (#${photo.rank})`]
      : photo.rejection ? ['rejected', `Not used: ${photo.rejection.message}`]
      : ['', `Usable (#${photo.rank}), not needed`];
    return row(photo.fileName, photo.faceCount, photo.score.toFixed(2), verdict);
  });
  refused.forEach((file) => rows.push(row(file.fileName, '', '', ['rejected', `Refused: ${file.message}`])));
  $('photo-report').tBodies[0].replaceChildren(...rows);
  $('report-section').hidden = false;

  function row(name, faces, score, [kind, text]) {
    const tr = document.createElement('tr');
    tr.append(cell(name), cell(String(faces), 'number'), cell(score, 'number'), cell(text, kind));
    return tr;
  }
}

function cell(text, className = '') {
  return Object.assign(document.createElement('td'), { textContent: text, className });
}

// ---- Following a generation: its event stream (server-sent events, read with fetch so the key can be sent), the gallery.
async function follow(id) {
  state.following?.abort();
  const following = new AbortController();
  state.following = following;
  if (state.generation !== id) {
    state.generation = id;
    state.images.forEach(({ url }) => URL.revokeObjectURL(url));
    state.images.clear();
  }
  $('portraits-section').hidden = false;
  $('generation-id').textContent = `Generation ${id}`;
  $('generation-problem').replaceChildren();
  await refresh();
  let lastEventId = null;
  let lastRefresh = 0;
  while (!following.signal.aborted && !isEnded(state.view)) {
    try {
      const response = await api(`/v1/generations/${id}/events`, {
        headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
        signal: following.signal,
      });
      if (response.status === 204) break;
      let heard = false;
      for await (const event of serverSentEvents(response.body)) {
        heard = true;
        lastEventId = event.id ?? lastEventId;
        const change = JSON.parse(event.data);
        renderProgress(change);
        if (change.portrait?.status !== 'running' || Date.now() - lastRefresh > 1000 || isEnded(change)) {
          lastRefresh = Date.now();
          await refresh();
        }
        if (isEnded(change)) break;
      }
      if (!heard) await sleep(2000); // a stream that closed with nothing in it: opened again, not at once
    } catch (error) {
      if (following.signal.aborted) return;
      if (error instanceof Problem && error.status < 500 && error.status !== 429) {
        showProblem($('generation-problem'), error);
        return;
      }
      await sleep(2000); // the stream broke: opened again from the last change seen
    }
  }
  if (!following.signal.aborted) await refresh();
}

const isEnded = (progress) => progress && !['queued', 'running'].includes(progress.status);

/** The events of a text/event-stream body: { id, event, data } each. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (event.data.length > 0) yield { id: event.id, event: event.event, data: event.data.join('\n') };
        event = { data: [] };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(text);
        else if (field === 'id') event.id = text;
        else if (field === 'event') event.event = text;
      }
    }
  }
}

async function refresh() {
  state.view = await (await api(`/v1/generations/${state.generation}`)).json();
  renderProgress(state.view.progress);
  renderGallery(state.view);
}

function renderProgress(change) {
  $('progress').max = change.total || 23;
  $('progress').value = change.completed;
  const ended = isEnded(change);
  $('progress-text').textContent = `${change.completed}/${change.total} portraits, ${change.status.replaceAll('_', ' ')}`
    + (ended ? '' : `, about ${Math.max(0, Math.round(change.estimatedTimeRemaining))} s left`);
  const budget = state.view?.budget;
  $('cost-text').textContent = `Cost so far $${Number(change.costSoFar).toFixed(3)}` + (budget ? ` of a $${Number(budget).toFixed(2)} budget` : '');
  $('cancel').disabled = ended;
}

function renderGallery(view) {
  $('download-all').disabled = !view.portraits.some((p) => p.imageUrl);
  const ended = isEnded(view);
  const cards = view.portraits.map((portrait) => {
    const existing = document.getElementById(`portrait-${portrait.index}`);
    const card = existing ?? document.createElement('li');
    card.id = `portrait-${portrait.index}`;
    const name = state.styles.get(portrait.style) ?? portrait.style;
    const frame = document.createElement('div');
    frame.className = 'frame';
    const shown = state.images.get(portrait.index);
    if (portrait.imageUrl && shown) {
      const open = Object.assign(document.createElement('button'), { type: 'button' });
      open.setAttribute('aria-label', `View ${name} full size`);
      open.append(Object.assign(document.createElement('img'), { src: shown.url, alt: `${name} portrait` }));
      open.addEventListener('click', () => openViewer(portrait, name));
      frame.append(open);
    } else {
      frame.textContent = portrait.status === 'failed' ? 'Not made' : portrait.status === 'cancelled' ? 'Cancelled' : 'Making…';
    }
    if (portrait.imageUrl && shown?.source !== imageSource(portrait)) loadImage(portrait);

    const meta = document.createElement('div');
    meta.className = 'meta';
    const title = Object.assign(document.createElement('h3'), { textContent: name });
    const status = Object.assign(document.createElement('p'), { textContent: portrait.status, className: `status-${portrait.status}` });
    const details = [portrait.provider, `$${Number(portrait.cost).toFixed(3)}`,
      portrait.identity?.score != null ? `identity ${portrait.identity.score.toFixed(2)}` : null].filter(Boolean).join(' · ');
    meta.append(title, status, Object.assign(document.createElement('p'), { textContent: details }));
    if (portrait.identity?.flagged) {
      meta.append(Object.assign(document.createElement('p'), { className: 'flag', textContent: `Flagged: ${portrait.identity.reason.replaceAll('_', ' ')}` }));
    }
    if (portrait.status === 'failed' && portrait.error) {
      meta.append(Object.assign(document.createElement('p'), { textContent: portrait.error.message }));
    }

    const actions = document.createElement('div');
    actions.className = 'card-actions';
    if (portrait.imageUrl && shown) {
      const download = Object.assign(document.createElement('a'), {
        className: 'button', href: shown.url, download: `${String(portrait.index).padStart(2, '0')}-${portrait.style}`, textContent: 'Download',
      });
      download.setAttribute('aria-label', `Download ${name}`);
      actions.append(download);
    }
    if (ended && portrait.status !== 'cancelled') {
      const retry = Object.assign(document.createElement('button'), { type: 'button', className: 'secondary', textContent: 'Make again' });
      retry.setAttribute('aria-label', `Make ${name} again`);
      retry.addEventListener('click', () => retryPortrait(portrait.index));
      actions.append(retry);
    }
    card.replaceChildren(frame, meta, actions);
    return card;
  });
  $('gallery').replaceChildren(...cards);
}

/** What an image shows: a portrait made again has the same URL and a new attempt. */
const imageSource = (portrait) => `${portrait.imageUrl}#${portrait.attempts.length}`;

const loading = new Set();

async function loadImage(portrait) {
  const source = imageSource(portrait);
  if (loading.has(source)) return;
  loading.add(source);
  try {
    const blob = await (await api(portrait.imageUrl)).blob();
    const previous = state.images.get(portrait.index);
    state.images.set(portrait.index, { source, url: URL.createObjectURL(blob) });
    if (previous) URL.revokeObjectURL(previous.url);
    if (state.view) renderGallery(state.view);
  } catch (error) {
    showProblem($('generation-problem'), error);
  } finally {
    loading.delete(source);
  }
}

function openViewer(portrait, name) {
  const shown = state.images.get(portrait.index);
  if (!shown) return;
  $('viewer-title').textContent = name;
  $('viewer-image').src = shown.url;
  $('viewer-image').alt = `${name} portrait, full size`;
  $('viewer-download').href = shown.url;
  $('viewer-download').download = `${String(portrait.index).padStart(2, '0')}-${portrait.style}`;
  $('viewer').showModal();
}

async function cancel() {
  try {
    await api(`/v1/generations/${state.generation}/cancel`, { method: 'POST' });
    $('cancel').disabled = true;
  } catch (error) {
    showProblem($('generation-problem'), error);
  }
}

async function retryPortrait(index) {
  try {
    await api(`/v1/generations/${state.generation}/portraits/${index}/retry`, { method: 'POST' });
    await follow(state.generation);
  } catch (error) {
    showProblem($('generation-problem'), error);
  }
}

async function downloadAll() {
  try {
    const blob = await (await api(`/v1/generations/${state.generation}/portraits/archive`)).blob();
    const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: `pinglass-${state.generation}.zip` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  } catch (error) {
    showProblem($('generation-problem'), error);
  }
}

async function loadStyles() {
  try {
    for (const style of await (await api('/v1/styles')).json()) state.styles.set(style.id, style.name);
  } catch {
    // Without the names the gallery shows the styles' ids.
  }
}

function wire() {
  readConnection();
  const drop = $('drop-zone');
  $('photo-input').addEventListener('change', (event) => { addPhotos(event.target.files); event.target.value = ''; });
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => { event.preventDefault(); drop.classList.remove('over'); addPhotos(event.dataTransfer.files); });
  $('start').addEventListener('click', start);
  $('clear').addEventListener('click', clearPhotos);
  $('cancel').addEventListener('click', cancel);
  $('download-all').addEventListener('click', downloadAll);
  $('viewer-close').addEventListener('click', () => $('viewer').close());
  if ($('api-key').value) loadStyles();
  $('api-key').addEventListener('change', loadStyles);
  const generation = new URLSearchParams(window.location.search).get('generation');
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(generation ?? '') && $('api-key').value) follow(generation).catch((error) => showProblem($('generation-problem'), error));
}

wire();

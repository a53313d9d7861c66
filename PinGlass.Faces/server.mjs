// PinGlass faces: face detection, 68 landmarks and descriptors over raw RGB pixels (the model: analyser.mjs, FACES_MODEL).
// TF.js on wasm runs one inference at a time per thread, so a pool of worker threads (one per core by default) does the work.
import { createHash } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

const port = Number.parseInt(process.env.PORT ?? '5400', 10);
const host = process.env.HOST ?? '127.0.0.1';
const workerCount = Math.max(1, Number.parseInt(process.env.FACES_WORKERS ?? String(Math.min(4, os.availableParallelism())), 10));
// The C# side downscales before sending; larger images cost time without helping a 512 px detector.
const maxSide = 1024;
const maxBody = maxSide * maxSide * 3;
const minSide = 32;

function wholeNumber(name, fallback) {
  const raw = process.env[name] ?? String(fallback);
  if (!/^\d{1,9}$/.test(raw)) {
    console.error(`faces: ${name} must be a whole number, not "${raw}"`);
    process.exit(1);
  }
  return Number.parseInt(raw, 10);
}

const versions = { backend: 'wasm', workers: workerCount };
// Answers by the SHA-256 of the pixels sent: the same photo uploaded again (a person's second generation, a client's retry) is not
// analysed twice. Bounded in entries and age; descriptors are biometric data, so they stay in this process's memory only briefly.
const cacheEntries = wholeNumber('FACES_CACHE_ENTRIES', 1000);
const cacheMs = wholeNumber('FACES_CACHE_SECONDS', 600) * 1000;
// Bytes of kept answers: a crowd photo's answer (up to 10 faces of 68 landmarks and 1024 numbers) is about 110 KB, one face's 11 KB.
const cacheBytes = 32 * 1024 * 1024;
const answers = new Map(); // key → { at, json }, in the order they were answered
const cache = { hits: 0, bytes: 0 };
// Requests whose caller hung up while they waited for a worker: dropped, not analysed. A caller that times out and sends again would
// otherwise leave its old request in the queue, and under load the queue fills with work nobody waits for.
const queue = { abandoned: 0 };
const idle = [];
// Two lanes: analyses a person waits for (uploads, marked X-Faces-Priority: interactive) go ahead of background ones (identity
// checks of finished portraits), so an upload never queues behind a generation's backlog.
const lanes = { interactive: [], background: [] };
const queued = () => lanes.interactive.length + lanes.background.length;
const pending = new Map();
let nextId = 0;
let readyCount = 0;

function dispatch() {
  while (idle.length > 0 && queued() > 0) {
    const worker = idle.pop();
    const job = (lanes.interactive.length > 0 ? lanes.interactive : lanes.background).shift();
    pending.set(job.id, { ...job, worker });
    // The pixel buffer moves to the worker instead of being copied.
    worker.postMessage({ id: job.id, pixels: job.pixels.buffer, width: job.width, height: job.height }, [job.pixels.buffer]);
  }
}

function startWorker() {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url));
  worker.on('message', (message) => {
    if (message.type === 'ready') {
      readyCount++;
      Object.assign(versions, message.versions);
      idle.push(worker);
      dispatch();
      return;
    }
    if (message.type === 'failed') {
      console.error(`faces: model load failed: ${message.error}`);
      process.exit(1);
    }
    const job = pending.get(message.id);
    pending.delete(message.id);
    idle.push(worker);
    dispatch();
    if (message.type === 'result') job.resolve(message.result);
    else job.reject(new Error(message.error));
  });
  worker.on('error', (err) => {
    console.error(`faces: worker crashed: ${err?.stack ?? err}`);
    process.exit(1);
  });
}

for (let i = 0; i < workerCount; i++) startWorker();

// Requests queue for a free worker rather than fail; the HTTP request timeout bounds the wait, and one whose caller has gone
// (signal aborted) leaves the queue.
const analyse = (pixels, width, height, lane, signal) =>
  new Promise((resolve, reject) => {
    const job = { id: nextId++, pixels, width, height, resolve, reject };
    lane.push(job);
    signal.addEventListener('abort', () => {
      const at = lane.indexOf(job);
      if (at < 0) return; // a worker has it already
      lane.splice(at, 1);
      queue.abandoned++;
      reject(new Error('abandoned'));
    }, { once: true });
    dispatch();
  });

function cacheKey(pixels, width, height) {
  return createHash('sha256').update(`${width}x${height}:`).update(pixels).digest('base64');
}

function cached(key) {
  const entry = answers.get(key);
  if (entry === undefined || Date.now() - entry.at >= cacheMs) return undefined;
  cache.hits++;
  return entry.json;
}

// Oldest first: what is past its age or over the bound leaves from the front.
function forget(key) {
  const entry = answers.get(key);
  if (entry === undefined) return;
  answers.delete(key);
  cache.bytes -= entry.json.length;
}

function forgetOld() {
  for (const [key, entry] of answers) {
    if (answers.size <= cacheEntries && cache.bytes <= cacheBytes && Date.now() - entry.at < cacheMs) break;
    forget(key);
  }
}

function remember(key, result) {
  if (cacheEntries === 0 || cacheMs === 0) return;
  const json = JSON.stringify({ ...result, cached: true });
  forget(key);
  answers.set(key, { at: Date.now(), json });
  cache.bytes += json.length;
  forgetOld();
}

setInterval(forgetOld, 10_000).unref();

function send(res, status, body) {
  sendJson(res, status, JSON.stringify(body));
}

function sendJson(res, status, json) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const fail = (res, status, code, message) => send(res, status, { error: code, message });

function dimension(url, req, name) {
  const raw = url.searchParams.get(name) ?? req.headers[`x-image-${name}`];
  if (raw === undefined || raw === null || !/^\d{1,5}$/.test(String(raw))) return undefined;
  return Number.parseInt(raw, 10);
}

// Past the limit the rest is read and dropped, not kept: breaking off would reset the socket before the client sees the 413.
async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks, size);
}

async function handleFaces(req, res, url) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    return fail(res, 415, 'unsupported_media_type', 'Send raw RGB pixels (3 bytes per pixel, row-major) as application/octet-stream.');
  }
  const width = dimension(url, req, 'width');
  const height = dimension(url, req, 'height');
  if (width === undefined || height === undefined) {
    return fail(res, 400, 'missing_dimensions', 'Give width and height as query parameters (?width=&height=) or X-Image-Width/X-Image-Height headers.');
  }
  if (width < minSide || height < minSide || width > maxSide || height > maxSide) {
    return fail(res, 400, 'bad_dimensions', `Width and height must be between ${minSide} and ${maxSide} pixels; got ${width}x${height}.`);
  }
  const expected = width * height * 3;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBody) {
    req.resume(); // discard the body so the connection survives the early answer
    return fail(res, 413, 'body_too_large', `At most ${maxBody} bytes (${maxSide}x${maxSide} RGB).`);
  }
  const body = await readBody(req, maxBody);
  if (body === undefined) return fail(res, 413, 'body_too_large', `At most ${maxBody} bytes (${maxSide}x${maxSide} RGB).`);
  if (body.length !== expected) {
    return fail(res, 400, 'bad_length', `Expected ${expected} bytes for ${width}x${height} RGB; got ${body.length}.`);
  }
  const key = cacheKey(body, width, height);
  const known = cached(key);
  if (known !== undefined) return sendJson(res, 200, known);
  const gone = new AbortController();
  res.on('close', () => { if (!res.writableFinished) gone.abort(); });
  let result;
  try {
    // A private copy: Buffer.concat may hand back a slice of Node's shared pool, which must not be transferred.
    const lane = String(req.headers['x-faces-priority'] ?? '').toLowerCase() === 'interactive' ? lanes.interactive : lanes.background;
    result = await analyse(new Uint8Array(body), width, height, lane, gone.signal);
  } catch (err) {
    if (gone.signal.aborted) return undefined; // nobody to answer
    throw err;
  }
  remember(key, result);
  return send(res, 200, result);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health' || url.pathname === '/alive') {
      if (req.method !== 'GET') return fail(res, 405, 'method_not_allowed', 'Use GET.');
      return readyCount === workerCount
        ? send(res, 200, { status: 'ok', ...versions, queued: queued(), queuedInteractive: lanes.interactive.length, abandoned: queue.abandoned, cached: answers.size, cachedBytes: cache.bytes, cacheHits: cache.hits })
        : send(res, 503, { status: 'loading', ready: readyCount, workers: workerCount });
    }
    if (url.pathname === '/v1/faces') {
      if (req.method !== 'POST') return fail(res, 405, 'method_not_allowed', 'Use POST.');
      return await handleFaces(req, res, url);
    }
    return fail(res, 404, 'not_found', 'Endpoints: GET /health, POST /v1/faces.');
  } catch (err) {
    console.error(`faces: ${err?.stack ?? err}`);
    if (!res.headersSent) fail(res, 500, 'internal_error', 'Face analysis failed.');
    else res.destroy();
  }
});

server.requestTimeout = 60_000;
server.listen(port, host, () => console.log(`faces: listening on http://${host}:${port}`));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

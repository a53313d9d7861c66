// PinGlass faces: face detection, 68 landmarks and 128-d descriptors over raw RGB pixels.
// Models and wasm binaries load from node_modules only; nothing is fetched at run time.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const port = Number.parseInt(process.env.PORT ?? '5400', 10);
const host = process.env.HOST ?? '127.0.0.1';
// The C# side downscales before sending; larger images cost time without helping a 512 px detector.
const maxSide = 1024;
const maxBody = maxSide * maxSide * 3;
const minSide = 32;
const maxFaces = 10;

const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;

// One model load per process; requests wait on it rather than racing it.
const ready = (async () => {
  wasm.setWasmPaths(wasmDir);
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
})();
let loaded = false;
ready.then(() => { loaded = true; }, (err) => {
  console.error(`faces: model load failed: ${err?.stack ?? err}`);
  process.exit(1);
});

const detectorOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3, maxResults: maxFaces });

// tfjs-wasm is single-threaded per process: analyse one image at a time so a request never starves another mid-inference.
let queue = Promise.resolve();
const serialised = (work) => {
  const run = queue.then(work, work);
  queue = run.catch(() => {});
  return run;
};

const round = (v, digits = 2) => Number(v.toFixed(digits));

async function analyse(pixels, width, height) {
  const tensor = tf.tensor3d(pixels, [height, width, 3], 'int32');
  try {
    const started = performance.now();
    const results = await faceapi.detectAllFaces(tensor, detectorOptions).withFaceLandmarks().withFaceDescriptors();
    const elapsedMs = performance.now() - started;
    const faces = results
      .map((r) => ({
        box: { x: round(r.detection.box.x), y: round(r.detection.box.y), width: round(r.detection.box.width), height: round(r.detection.box.height) },
        score: round(r.detection.score, 4),
        landmarks: r.landmarks.positions.map((p) => [round(p.x), round(p.y)]),
        descriptor: Array.from(r.descriptor, (v) => round(v, 6)),
      }))
      .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    return { width, height, elapsedMs: round(elapsedMs, 1), faces };
  } finally {
    tf.dispose(tensor);
  }
}

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const fail = (res, status, code, message) => send(res, status, { error: code, message });

function dimension(url, req, name) {
  const raw = url.searchParams.get(name) ?? req.headers[`x-image-${name}`];
  if (raw === undefined || raw === null || !/^\d{1,5}$/.test(String(raw))) return undefined;
  return Number.parseInt(raw, 10);
}

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
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
    return fail(res, 413, 'body_too_large', `At most ${maxBody} bytes (${maxSide}x${maxSide} RGB).`);
  }
  const body = await readBody(req, maxBody);
  if (body === undefined) return fail(res, 413, 'body_too_large', `At most ${maxBody} bytes (${maxSide}x${maxSide} RGB).`);
  if (body.length !== expected) {
    return fail(res, 400, 'bad_length', `Expected ${expected} bytes for ${width}x${height} RGB; got ${body.length}.`);
  }
  await ready;
  const result = await serialised(() => analyse(new Int32Array(body), width, height));
  return send(res, 200, result);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health' || url.pathname === '/alive') {
      if (req.method !== 'GET') return fail(res, 405, 'method_not_allowed', 'Use GET.');
      return loaded
        ? send(res, 200, { status: 'ok', backend: tf.getBackend(), faceApi: faceapi.version, tfjs: tf.version_core })
        : send(res, 503, { status: 'loading' });
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

// face-api (SSD MobileNet v1 detector, 68-point landmark net, 128-d descriptor): PinGlass's first model, kept as a calibration
// candidate (FACES_MODEL=faceapi). Models and wasm binaries load from node_modules only; nothing is fetched at run time.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;

const maxFaces = 10;
const detectorOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3, maxResults: maxFaces });

const versions = { model: 'faceapi', faceApi: faceapi.version, tfjs: tf.version_core };

async function load() {
  wasm.setWasmPaths(wasmDir);
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
}

const round = (v, digits = 2) => Number(v.toFixed(digits));

/** pixels: Uint8Array of width × height × 3 RGB bytes. Faces come back largest first. */
async function analyse(pixels, width, height) {
  const tensor = tf.tensor3d(Int32Array.from(pixels), [height, width, 3], 'int32');
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

export const create = () => ({ versions, load, analyse });

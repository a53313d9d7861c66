// One analysis thread: its own TF.js wasm instance and models, fed by server.mjs.
import { parentPort } from 'node:worker_threads';
import { createAnalyser } from './analyser.mjs';

let analyser;
try {
  analyser = await createAnalyser();
  await analyser.load();
  parentPort.postMessage({ type: 'ready', versions: analyser.versions });
} catch (err) {
  parentPort.postMessage({ type: 'failed', error: String(err?.stack ?? err) });
}

parentPort.on('message', async ({ id, pixels, width, height }) => {
  try {
    parentPort.postMessage({ type: 'result', id, result: await analyser.analyse(new Uint8Array(pixels), width, height) });
  } catch (err) {
    parentPort.postMessage({ type: 'error', id, error: String(err?.stack ?? err) });
  }
});

// Checks the emulator with the official JavaScript client, unchanged (replicate-javascript 1.4.0):
//   npm install replicate@1.4.0 && EMULATOR_URL=http://127.0.0.1:5300 node official-js-client.mjs path/to/face.png
// It runs a community model by version and an official model with run() (Prefer: wait, then polling), validates a
// webhook with the client's own validateWebhook, waits, lists, and reads a 422. Exits non-zero on the first mismatch.
import Replicate, { validateWebhook } from "replicate";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";

const baseUrl = (process.env.EMULATOR_URL ?? "http://127.0.0.1:5300") + "/v1";
const replicate = new Replicate({ auth: process.env.REPLICATE_API_TOKEN ?? "r8_pinglass_emulator_local_token", baseUrl });
const face = "data:image/png;base64," + fs.readFileSync(process.argv[2]).toString("base64");
const pulid = "bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b";

const outputs = await replicate.run(pulid, { input: { main_face_image: face, width: 256, height: 256, prompt: "black and white" } });
assert.equal(outputs.length, 1);
const edited = await replicate.run("black-forest-labs/flux-kontext-pro", { input: { prompt: "portrait", input_image: face } });
// Blocking (Prefer: wait), an output ready within the wait comes inline as a data URL, as Replicate answers; else a delivery URL.
assert.match(String(edited), /^(https?:\/\/|data:image\/)/);

const secret = (await replicate.webhooks.default.secret.get()).key;
let received;
const delivered = new Promise(resolve => (received = resolve));
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", chunk => (body += chunk));
  req.on("end", async () => {
    const valid = await validateWebhook({ id: req.headers["webhook-id"], timestamp: req.headers["webhook-timestamp"],
      signature: req.headers["webhook-signature"], body, secret });
    res.end();
    received({ valid, status: JSON.parse(body).status });
  });
});
await new Promise(resolve => server.listen(0, "127.0.0.1", resolve));
const hook = `http://127.0.0.1:${server.address().port}/hook`;
const created = await replicate.predictions.create({ version: pulid.split(":")[1], input: { main_face_image: face, width: 256, height: 256 },
  webhook: hook, webhook_events_filter: ["completed"] });
assert.deepEqual(await delivered, { valid: true, status: "succeeded" });
assert.equal((await replicate.wait(created)).status, "succeeded");
assert.ok((await replicate.predictions.list()).results.length >= 3);
await assert.rejects(replicate.predictions.create({ version: "bytedance/flux-pulid", input: {} }), /422/);
server.close();
console.log("official JavaScript client: all checks passed");

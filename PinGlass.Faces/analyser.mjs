// The face model this thread runs, chosen by FACES_MODEL (see README.md): every model answers the same contract. Only the
// chosen model's library is loaded.
export const models = ['human', 'human-faceres-deep', 'human-mobilefacenet', 'faceapi'];

export async function createAnalyser(model = process.env.FACES_MODEL || 'human') {
  if (!models.includes(model)) throw new Error(`FACES_MODEL must be one of ${models.join(', ')}; got "${model}"`);
  return model === 'faceapi' ? (await import('./models/faceapi.mjs')).create() : (await import('./models/human.mjs')).create(model);
}

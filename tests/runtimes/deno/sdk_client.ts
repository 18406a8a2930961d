// The SDK under Deno against a real coordinator (spawned by tests/e2e/sdk.test.ts): submit, watch,
// predict; prints a JSON summary on stdout.
import { EdgepropClient, EdgepropError } from "../../../clients/sdk/mod.ts";

const [baseUrl, token] = Deno.args;
const client = new EdgepropClient({ baseUrl, token });
const { id } = await client.submitJob({
  name: "deno-sdk",
  dataset: { id: "builtin:moons" },
  model: { input: [2], layers: [{ type: "dense", units: 8 }, { type: "relu" }, { type: "dense", units: 2 }], output: "softmax" },
  epochs: 2,
  batchSize: 100,
});
const types: string[] = [];
for await (const event of client.watch(id)) types.push(event.type);
const job = await client.getJob(id);
const prediction = await client.predict(id, [[0, 0]]);
let badStatus = 0;
try {
  await client.submitJob({ dataset: { id: "builtin:moons" } });
} catch (error) {
  if (error instanceof EdgepropError) badStatus = error.status;
}
console.log(JSON.stringify({ id, status: job.status, types: [...new Set(types)], outputs: prediction.outputs, badStatus }));

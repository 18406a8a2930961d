/**
 * The model export endpoints, mounted by the coordinator's app at `/v1/jobs` (so its API-token
 * check and its one onError apply):
 * - `GET /:id/export/tfjs/model.json` and `GET /:id/export/tfjs/weights.bin`: a TensorFlow.js
 *   LayersModel (`tf.loadLayersModel` fetches the weight file from the URL next to model.json);
 * - `GET /:id/export/model.onnx`: an ONNX model.
 * Each is built from the stored model artifact on request.
 */
import { Hono } from "hono";
import { HttpError } from "../../core/http/http-error.ts";
import type { ModelArtifact } from "../jobs/model-artifact.ts";
import { onnxModel } from "./onnx.ts";
import { tfjsLayersModel, WEIGHTS_FILE } from "./tfjs-layers.ts";

/** What the routes need of the JobManager. */
export interface ExportSource {
  get(id: string): Promise<{ readonly id: string } | null>;
  model(id: string): Promise<ModelArtifact | null>;
}

export function exportRoutes(jobs: ExportSource): Hono {
  const app = new Hono();
  const artifact = async (id: string): Promise<ModelArtifact> => {
    if (!(await jobs.get(id))) throw new HttpError(404, "not_found", `job '${id}' does not exist`);
    const model = await jobs.model(id);
    if (!model) throw new HttpError(404, "not_found", `job '${id}' has no trained model yet`);
    return model;
  };

  app.get("/:id/export/tfjs/model.json", async (c) => c.json(tfjsLayersModel(await artifact(c.req.param("id"))).modelJson));
  app.get(`/:id/export/tfjs/${WEIGHTS_FILE}`, async (c) => {
    const { weights } = tfjsLayersModel(await artifact(c.req.param("id")));
    return c.body(weights as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  });
  app.get("/:id/export/model.onnx", async (c) => {
    const id = c.req.param("id");
    const bytes = onnxModel(await artifact(id));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="${id}.onnx"`,
    });
  });
  return app;
}

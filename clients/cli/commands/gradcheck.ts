/**
 * `edgeprop gradcheck <job.json>`: gradient checking of a job's model on seeded random examples
 * (the course's two-sided difference check, against the float64 reference forward pass).
 */
import { Command, Option } from "commander";
import {
  type BackendName,
  Domain,
  expectNumber,
  gradientCheck,
  type GradientCheckReport,
  initParameters,
  isRecord,
  parseModelSpec,
  parseRegularization,
  planModel,
  Rng,
  useBackend,
} from "../../../core/mod.ts";
import { readJsonFile } from "../read-json.ts";
import { UsageError } from "../usage-error.ts";

interface GradcheckOptions {
  examples: string;
  threshold: string;
  maxPerTensor: string;
  backend: BackendName;
}

export function gradcheckCommand(): Command {
  return new Command("gradcheck")
    .description(
      "Check backpropagation against two-sided finite differences of the whole cost (L2/L1 included) " +
        "for the model of a job spec, on seeded random examples. Exits 1 when the ratio exceeds --threshold.",
    )
    .argument("<job.json>", "a job spec; `model` is required, `regularization`, `chunkSize` and `seed` are used when present")
    .option("--examples <n>", "number of random examples", "16")
    .option("--threshold <ratio>", "largest acceptable overall ratio", "1e-5")
    .option("--max-per-tensor <n>", "most entries checked per parameter tensor (evenly spaced)", "200")
    .addOption(new Option("--backend <name>", "tfjs backend for backpropagation").choices(["wasm", "cpu"]).default("wasm"))
    .action(async (file: string, options: GradcheckOptions) => {
      process.exitCode = await runGradcheck(file, options);
    });
}

async function runGradcheck(file: string, options: GradcheckOptions): Promise<number> {
  const examples = expectNumber(Number(options.examples), "--examples", "check gradients", { min: 1, max: 4096, integer: true });
  const threshold = expectNumber(Number(options.threshold), "--threshold", "check gradients", { min: 0, minExclusive: true });
  const maxPerTensor = expectNumber(Number(options.maxPerTensor), "--max-per-tensor", "check gradients", { min: 1, integer: true });

  const job = await readJsonFile(file, "job spec");
  if (!isRecord(job)) throw new UsageError(`job spec '${file}' must be a JSON object with a 'model'`);
  if (job.model === undefined) throw new UsageError(`job spec '${file}' has no 'model' field to check`);

  const plan = planModel(parseModelSpec(job.model));
  const regularization = parseRegularization(job.regularization);
  const chunkSize = job.chunkSize === undefined
    ? 32
    : expectNumber(job.chunkSize, "chunkSize", "check gradients", { min: 1, integer: true });
  const seed = job.seed === undefined ? 42 : expectNumber(job.seed, "seed", "check gradients", { min: 0, integer: true });

  await useBackend(options.backend);
  const params = initParameters(plan, seed);
  const rng = new Rng(seed, Domain.data, 1);
  const inputs = Float32Array.from({ length: examples * plan.inputSize }, () => rng.normal());
  const labels = plan.spec.output === "linear"
    ? Float32Array.from({ length: examples * plan.outputs }, () => rng.normal())
    : Int32Array.from({ length: examples }, () => rng.int(plan.spec.output === "sigmoid" ? 2 : plan.outputs));
  const indices = Array.from({ length: examples }, (_, i) => i);

  const report = await gradientCheck(plan, params, { inputs, labels, indices }, {
    chunkSize,
    seed,
    step: 0,
    regularization,
    maxPerTensor,
  });
  printReport(report, plan.parameterCount, threshold, options.threshold);
  return report.ratio <= threshold ? 0 : 1;
}

function printReport(report: GradientCheckReport, parameterCount: number, threshold: number, shown: string): void {
  const rows = report.tensors.map((t) => [t.name, `${t.checked}/${t.size}`, t.ratio.toExponential(2), String(t.worst.index)]);
  const header = ["tensor", "checked", "ratio", "worst index"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`gradient check: ${report.examples} examples, ${parameterCount} parameters, ε = ${report.epsilon}`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  const w = report.worst;
  console.log(`largest discrepancy: ${w.name}[${w.index}] numeric ${w.numeric.toExponential(6)} vs backprop ${w.analytic.toExponential(6)}`);
  if (report.withDropout) {
    console.log("dropout is on: its masks are a fixed function of (seed, step, example, layer), so the check stays valid");
  }
  const reading = {
    great: "< 1e-7: backpropagation is correct",
    fine: "< 1e-5: probably correct; look at the worst component",
    suspicious: "< 1e-3: suspicious; look for a bug",
    wrong: "≥ 1e-3: backpropagation is very likely wrong",
  }[report.verdict];
  console.log(`overall ratio: ${report.ratio.toExponential(3)} (${report.verdict}, ${reading})`);
  console.log(report.ratio <= threshold ? `PASS (threshold ${shown})` : `FAIL: ratio above the threshold ${shown}`);
}

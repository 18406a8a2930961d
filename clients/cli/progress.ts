/**
 * Shows a job's events as a person wants to see them: a progress bar per epoch with live batch
 * loss, smoothed batch loss, throughput and ETA, the epoch's errors after each epoch, and a final
 * report. Progress goes to stderr; when stderr is not a terminal (CI logs) it degrades to one plain
 * line per epoch. Epochs are 1-based and errors percentages, as everywhere a person reads them.
 * One name per meaning: "batch loss" is measured in training mode (dropout on) on the batches as
 * they are trained; "train loss" is the inference-mode loss on the training split.
 */
import cliProgress from "cli-progress";
import { explainGaps } from "../../core/diagnosis.ts";
import { describeDistribution } from "../../core/job/distribution.ts";
import type { EarlyStoppingOutcome } from "../sdk/mod.ts";
import type { Job, JobCommunication, JobEvent, RoundsProgress } from "../sdk/mod.ts";

export const fmt = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits));
export const pct = (x: number | null | undefined) => (x === null || x === undefined ? "-" : `${(100 * x).toFixed(2)}%`);

/** Bytes in decimal units, three significant digits ("940 B", "3.14 KB", "1.20 MB"). */
function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 999.5 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toPrecision(3)} ${units[i]}`;
}

/** Local mode's rounds ("round 3/12"), empty in sync mode. */
const roundsText = (rounds: RoundsProgress | undefined) => (rounds ? `round ${rounds.done}/${rounds.total}` : "");

const perExample = (c: JobCommunication | null | undefined) => (c?.bytesPerExample == null ? "-" : `${bytes(c.bytesPerExample)}/example`);

export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #bar: cliProgress.SingleBar | null = null;
  #barEpoch = -1;
  #loss = NaN;
  #smoothed = NaN;
  #examplesPerSecond = 0;
  #communication: JobCommunication | null = null;
  #rounds: RoundsProgress | undefined;
  #epochStarted = 0;
  #epochs = 0;
  #batchSize: number;

  constructor(options: { stream?: NodeJS.WriteStream; batchSize: number }) {
    this.#out = options.stream ?? process.stderr;
    this.#tty = Boolean(this.#out.isTTY) && process.env.CI !== "true";
    this.#batchSize = options.batchSize;
  }

  handle(event: JobEvent): void {
    switch (event.type) {
      case "progress": {
        const p = event.data;
        this.#epochs = p.epochs;
        this.#communication = p.communication ?? this.#communication;
        this.#rounds = p.rounds;
        const epochLabel = p.members > 1 ? `member ${p.member + 1}/${p.members} epoch ${p.epoch + 1}/${p.epochs}` : `epoch ${p.epoch + 1}/${p.epochs}`;
        const label = p.rounds ? `${epochLabel} ${roundsText(p.rounds)}` : epochLabel;
        if (this.#barEpoch !== p.epoch || !this.#bar) this.#startEpoch(p.epoch, p.steps, label);
        const elapsed = (performance.now() - this.#epochStarted) / 1000;
        this.#examplesPerSecond = elapsed > 0 ? (p.step * this.#batchSize) / elapsed : 0;
        this.#bar?.update(p.step, { label, loss: fmt(this.#loss), smoothed: fmt(this.#smoothed), eps: Math.round(this.#examplesPerSecond), traffic: perExample(this.#communication) });
        break;
      }
      case "metrics":
        this.#loss = event.data.loss;
        this.#smoothed = event.data.smoothedLoss;
        break;
      case "epoch": {
        const e = event.data;
        this.#bar?.stop();
        this.#bar = null;
        const dev = e.devError === null ? (e.devLoss === null ? "" : `, dev loss ${fmt(e.devLoss)}`) : `, dev error ${pct(e.devError)}`;
        const train = e.trainError === null ? "" : `, train error ${pct(e.trainError)}`;
        const of = this.#epochs > 0 ? `/${this.#epochs}` : "";
        const traffic = this.#communication?.bytesPerExample == null ? "" : `, ${perExample(this.#communication)}`;
        const rounds = this.#rounds ? `, ${roundsText(this.#rounds)}` : "";
        this.#out.write(
          `epoch ${e.epoch + 1}${of}: mean batch loss ${fmt(e.trainLoss)}, smoothed ${fmt(this.#smoothed)}${train}${dev}, ${Math.round(e.examplesPerSecond)} examples/s, ${fmt(e.stepMs, 1)} ms/step${traffic}${rounds}\n`,
        );
        break;
      }
      case "done":
      case "failed":
      case "cancelled":
        this.#bar?.stop();
        this.#bar = null;
        break;
      case "checkpoint":
        break;
    }
  }

  /** Stops the bar (which shows the cursor again): at the job's end, or when the user stops following it. */
  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }

  #startEpoch(epoch: number, steps: number, label: string): void {
    this.#bar?.stop();
    this.#barEpoch = epoch;
    this.#epochStarted = performance.now();
    if (!this.#tty) {
      this.#bar = null;
      return;
    }
    this.#bar = new cliProgress.SingleBar({
      stream: this.#out,
      format: "{label} [{bar}] {value}/{total} | batch loss {loss} | smoothed {smoothed} | {eps} ex/s | {traffic} | ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    }, cliProgress.Presets.shades_classic);
    this.#bar.start(steps, 0, { label, loss: "-", smoothed: "-", eps: 0, traffic: perExample(this.#communication) });
  }
}

/** Keras's line: "stopped early at epoch 14; restored the weights of epoch 11 (lowest dev loss)". */
export function earlyStoppingLine(outcome: EarlyStoppingOutcome, spec: Record<string, unknown>): string {
  const metric = (spec.earlyStopping as { metric?: string } | undefined)?.metric === "devError" ? "dev error" : "dev loss";
  return outcome.restored
    ? `stopped early at epoch ${outcome.stoppedAtEpoch}; restored the weights of epoch ${outcome.bestEpoch} (lowest ${metric})`
    : `stopped early at epoch ${outcome.stoppedAtEpoch}; kept its last weights (lowest ${metric} at epoch ${outcome.bestEpoch})`;
}

/** "distribution: sync", or "distribution: local 4×16 (keep), outer nesterov lr 0.7 momentum 0.9; 12/12 rounds". */
export function distributionLine(job: Job): string {
  const rounds = job.progress.rounds;
  return `distribution: ${describeDistribution(job.spec.distribution)}${rounds ? `; ${rounds.done}/${rounds.total} rounds` : ""}`;
}

/** The final report of a finished job, as lines for stdout. */
export function finalReport(job: Job): string[] {
  const m = job.metrics;
  const lines = [`job ${job.id} (${job.name}): ${job.status}`];
  if (job.error) lines.push(`error: ${job.error}`);
  lines.push(distributionLine(job));
  if (job.status === "succeeded") {
    if (job.earlyStopping) lines.push(earlyStoppingLine(job.earlyStopping, job.spec));
    const row = (name: string, loss: number | null, error: number | null) => `  ${name.padEnd(5)} loss ${fmt(loss)}  error ${pct(error)}`;
    lines.push(row("train", m.trainLoss, m.trainError), row("dev", m.devLoss, m.devError), row("test", m.testLoss, m.testError));
    const d = job.diagnosis;
    if (d) {
      lines.push(`bias/variance: ${d.verdict} (${explainGaps(d)})`);
      if (d.recommendations.length) lines.push(`recommendation: ${d.recommendations[0]}`);
    }
    if (job.throughput.examplesPerSecond) lines.push(`throughput: ${Math.round(job.throughput.examplesPerSecond)} examples/s (last epoch)`);
  }
  const c = job.communication;
  if (c && c.requests > 0) {
    const each = c.bytesPerExample === null ? "" : `, ${bytes(c.bytesPerExample)} per example`;
    lines.push(`communication: ${c.requests} requests, ${bytes(c.bytesSent)} sent, ${bytes(c.bytesReceived)} received${each}`);
  }
  return lines;
}

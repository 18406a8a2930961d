/**
 * A job's per-epoch metrics as CSV (`GET /v1/jobs/:id/metrics?format=csv`), for spreadsheets and
 * plotting tools: one row per member and epoch, epochs 1-based as people read them, errors as
 * fractions like the JSON, empty cells where a value is null.
 */
import type { EpochMetrics, MetricsEntry } from "../../core/job/api.ts";

const COLUMNS = ["member", "epoch", "step", "trainLoss", "trainError", "devLoss", "devError", "learningRate", "examplesPerSecond", "stepMs"] as const;

export function epochMetricsCsv(entries: readonly MetricsEntry[]): string {
  const rows = entries.filter((e): e is EpochMetrics => e.kind === "epoch").map((e) => {
    const cells: Record<(typeof COLUMNS)[number], number | null> = { ...e, member: e.member + 1, epoch: e.epoch + 1 };
    return COLUMNS.map((c) => (cells[c] === null ? "" : String(cells[c]))).join(",");
  });
  return [COLUMNS.join(","), ...rows].join("\n") + "\n";
}

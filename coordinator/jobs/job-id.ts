/**
 * Job ids that sort by creation: `job_` + the creation time (milliseconds, 12 hex digits, good
 * until the year 10889) + 16 random hex digits. Listing newest first then needs only the folder
 * names, not every job.json (GET /v1/jobs?limit=). Ids of older versions (`job_` + 24 random hex
 * digits) carry no time; they sort by their records' createdAt, after every timed id.
 */
import { randomBytes } from "node:crypto";

const TIMED = /^job_[0-9a-f]{28}$/;

/** A fresh id for a job created at `now` (ms since the epoch). */
export function newJobId(now = Date.now()): string {
  return `job_${now.toString(16).padStart(12, "0")}${randomBytes(8).toString("hex")}`;
}

/** Whether `id` carries its creation time, i.e. sorts by creation among other such ids. */
export function isTimedJobId(id: string): boolean {
  return TIMED.test(id);
}

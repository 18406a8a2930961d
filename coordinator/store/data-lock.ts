/**
 * One coordinator per data directory: `<dataDir>/coordinator.lock`, created with O_EXCL and holding
 * `{pid, hostname, startedAt}`. A second coordinator is refused with a message naming the holder; a
 * lock left by a dead process on this host is taken over. A lock of another host cannot be checked
 * and is never taken over. On a disk too full for the holder's line the lock stays empty (still
 * exclusive) and is refused like a live one, since its holder cannot be known.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { mkdir, open, readFile, rm } from "node:fs/promises";

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

/** The data directory is in use by another coordinator; the message names it and what to do. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, "coordinator.lock");
  const me: LockHolder = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(path, "wx");
      let written = true;
      try {
        await file.writeFile(JSON.stringify(me) + "\n");
        await file.sync();
      } catch (error) {
        written = false;
        console.error(`coordinator: ${path} could not hold this coordinator's pid (${(error as Error).message}); it stays, empty, as the lock`);
      } finally {
        await file.close();
      }
      return { path, release: () => release(path, me, written) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readHolder(path);
    if (holder === "gone") continue; // released between our open and our read
    if (attempt === 0 && holder !== null && isStale(holder)) {
      console.error(`coordinator: taking over ${path}: its holder, pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}), is no longer running`);
      await rm(path, { force: true });
      continue;
    }
    throw new DataDirLockedError(holder === null
      ? `Cannot start: the data directory ${dataDir} is locked by ${path}, which names no holder (written on a full disk, or torn); if no coordinator uses this directory, delete the file`
      : `Cannot start: the data directory ${dataDir} is in use by the coordinator with pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}); stop it, or if it is gone, delete ${path}`);
  }
}

async function readHolder(path: string): Promise<LockHolder | null | "gone"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw error;
  }
  try {
    const value = JSON.parse(text) as LockHolder;
    return Number.isSafeInteger(value.pid) && value.pid > 0 && typeof value.hostname === "string" && typeof value.startedAt === "string" ? value : null;
  } catch {
    return null;
  }
}

/** A holder on this host whose process is gone (or is this process: a pid reused after a restart, as pid 1 in a container). */
function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function release(path: string, me: LockHolder, written: boolean): Promise<void> {
  const holder = await readHolder(path);
  const mine = holder === null ? !written : holder !== "gone" && holder.pid === me.pid && holder.startedAt === me.startedAt;
  if (mine) await rm(path, { force: true });
}

/**
 * One coordinator per data directory: `<dataDir>/coordinator.lock`, created with O_EXCL and holding
 * `{pid, hostname, startedAt}`; its holder touches it every second (its mtime is a heartbeat). A
 * second coordinator is refused with a message naming the holder; a lock whose holder on this host
 * is dead is taken over. Whether a pid runs is asked with signal 0; where the runtime may not signal
 * (Deno without --allow-run) the heartbeat answers instead: a lock untouched for 5 s is dead. A lock
 * of another host is never taken over (its liveness cannot be checked). On a disk too full for the
 * holder's line the lock stays empty but exclusive; it is taken over once its heartbeat stops.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { mkdir, open, readFile, rm, stat, utimes } from "node:fs/promises";

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
  /** Stops the heartbeat and removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

const HEARTBEAT_MS = 1000;
const STALE_MS = 5000;

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
      // Touching a file needs no free space, so the heartbeat goes on on a full disk.
      const heartbeat = setInterval(() => void utimes(path, new Date(), new Date()).catch(() => {}), HEARTBEAT_MS);
      return {
        path,
        release: async () => {
          clearInterval(heartbeat);
          await release(path, me, written);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readHolder(path);
    if (holder === "gone") continue; // released between our open and our read
    if (attempt === 0 && (await isStale(path, holder))) {
      const who = holder === null ? "its holder (unnamed: the lock is empty)" : `its holder, pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}),`;
      console.error(`coordinator: taking over ${path}: ${who} is no longer running`);
      await rm(path, { force: true });
      continue;
    }
    throw new DataDirLockedError(holder === null
      ? `Cannot start: the data directory ${dataDir} is locked by ${path}, which names no holder and is still touched by it; stop the other coordinator first`
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

/**
 * Whether a lock's holder is gone: a holder on this host whose pid no longer runs (or is this
 * process: a pid reused after a restart, as pid 1 in a container), or, where that cannot be asked
 * (and for an empty lock), whose heartbeat has stopped.
 */
async function isStale(path: string, holder: LockHolder | null): Promise<boolean> {
  if (holder !== null) {
    if (holder.hostname !== hostname()) return false;
    if (holder.pid === process.pid) return true;
    const running = isRunning(holder.pid);
    if (running !== null) return !running;
  }
  return !(await heartbeatSeen(path));
}

/** Whether a process exists; null when the runtime may not signal it (Deno without --allow-run). */
function isRunning(pid: number): boolean | null {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    return null;
  }
}

/** Watches the lock's mtime: true as soon as it is touched, false once it is older than STALE_MS. */
async function heartbeatSeen(path: string): Promise<boolean> {
  const first = await stat(path).catch(() => null);
  if (!first) return false;
  for (;;) {
    const now = await stat(path).catch(() => null);
    if (!now) return false;
    if (now.mtimeMs !== first.mtimeMs) return true;
    if (Date.now() - now.mtimeMs > STALE_MS) return false;
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS / 4));
  }
}

async function release(path: string, me: LockHolder, written: boolean): Promise<void> {
  const holder = await readHolder(path);
  const mine = holder === null ? !written : holder !== "gone" && holder.pid === me.pid && holder.startedAt === me.startedAt;
  if (mine) await rm(path, { force: true });
}

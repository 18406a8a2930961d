/**
 * Peak memory of real processes, read from Linux's /proc: VmHWM (the resident-set high-water mark)
 * of a process, and the workerd process that miniflare starts under `serve.mjs` (a grandchild of
 * the process the test spawned). Used by the worker-memory test and bench/worker-memory.ts.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A `Vm*` field of /proc/<pid>/status, in bytes. */
export function vmField(pid: number, field: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!match) throw new Error(`Cannot read ${field} of process ${pid}: not in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Pids of the live children of `pid`. */
function children(pid: number): number[] {
  return parentMap().get(pid) ?? [];
}

/** Pids of every live descendant of `pid`. */
function descendants(pid: number): number[] {
  const byParent = parentMap();
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) for (const child of byParent.get(stack.pop()!) ?? []) stack.push(child), out.push(child);
  return out;
}

/** Live pids by parent pid. */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  return children;
}

/** The workerd process under `rootPid` (serve.mjs → miniflare → workerd); `direct`: among its children only. */
export function workerdPid(rootPid: number, direct = false): number {
  const found = (direct ? children(rootPid) : descendants(rootPid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  });
  if (found.length !== 1) throw new Error(`Cannot find the workerd process under ${rootPid}: found ${found.length}`);
  return found[0];
}

/**
 * VmHWM of a workerd process that miniflare starts for a one-line worker, after one request: what
 * workerd and miniflare's own services take before any edgeprop code. The peak of an edgeprop
 * workerd process less this is what the edgeprop isolate added (an upper bound on it: the bytes
 * workerd buffers for its requests and replies count too).
 */
export async function trivialWorkerdHwm(): Promise<number> {
  const { Miniflare } = await import("miniflare");
  const toml = readFileSync(new URL("../../deploy/cloudflare/wrangler.toml", import.meta.url), "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)![1];
  const mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('ok'); } }", compatibilityDate, port: 0 });
  try {
    const url = await mf.ready;
    await (await fetch(url)).text();
    return vmField(workerdPid(process.pid, true), "VmHWM");
  } finally {
    await mf.dispose();
  }
}

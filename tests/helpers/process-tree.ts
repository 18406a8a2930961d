/** The processes a test's child started, for checking that none is left behind. */
import { execFileSync } from "node:child_process";

/** The processes `pid` started, and theirs: [pid, command line]. */
export function descendantsOf(pid: number): [number, string][] {
  let rows: [number, string][] = [];
  try {
    rows = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").filter((l) => l.trim()).map((l) => {
      const [, child, args] = /^\s*(\d+)\s+(.*)$/.exec(l)!;
      return [Number(child), args];
    });
  } catch {
    // no children
  }
  return rows.flatMap((row) => [row, ...descendantsOf(row[0])]);
}

/** Whether a process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

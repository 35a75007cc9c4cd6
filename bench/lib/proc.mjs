// CPU time and memory of a process and all its descendants, from /proc (Linux). Used to report
// how much of a core each server (and the load generator) used during a measurement window.
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces; fields resume after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      rssPages: Number(fields[21]),
    };
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs (a zombie, waiting to be reaped, does not). */
export function isAlive(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** `pid` and every process below it. */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds used so far by the processes. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) ticks += stat(p)?.ticks ?? 0;
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds per process, to diff later with `cpuSince` (a process that exits counts as 0). */
export function cpuByPid(pids) {
  return new Map(pids.map((p) => [p, stat(p)?.ticks ?? 0]));
}

/** CPU seconds used since `before` by the processes still alive. */
export function cpuSince(before) {
  let ticks = 0;
  for (const [p, t0] of before) {
    const now = stat(p)?.ticks;
    if (now !== undefined) ticks += Math.max(0, now - t0);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size in bytes, summed over the processes. */
export function rssBytes(pids) {
  let pages = 0;
  for (const p of pids) pages += stat(p)?.rssPages ?? 0;
  return pages * 4096;
}

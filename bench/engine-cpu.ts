// The engine's own CPU time: user plus system time of the throwaway engine's processes (dockerd
// and the containerd it started, whose command lines name the engine's directory), read from
// /proc. On a 2-core host the engine is the bottleneck of any removal, so what a side makes the
// engine do is as telling as its wall time. The children's times (cutime, cstime) count too:
// helpers an engine process waits for are its work.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of the times in /proc (almost always 100). */
export function ticksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/**
 * utime + stime (and, with `children`, cutime + cstime) in clock ticks, from the text of
 * `/proc/PID/stat`. The command name in parentheses may itself hold spaces and parentheses, so
 * fields are counted from the last `)`: the state is field 3, utime to cstime fields 14 to 17.
 */
export function cpuTicks(stat: string, children = false): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const times = fields.slice(11, children ? 15 : 13).map(Number);
  if (times.length < (children ? 4 : 2) || !times.every(Number.isInteger))
    throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 80)}`);
  return times.reduce((a, b) => a + b, 0);
}

/** The pids of the processes whose command line holds `marker` (the engine's directory). */
export function enginePids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Reads the engine's CPU seconds so far; call twice around what is measured. */
export function engineCpu(marker: string): () => number {
  const tick = ticksPerSecond();
  const pids = enginePids(marker).filter((pid) => !isSelf(pid));
  if (pids.length === 0) throw new Error(`no engine process names ${marker}`);
  return () => {
    let ticks = 0;
    for (const pid of pids) {
      try {
        ticks += cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'), true);
      } catch {
        // An engine process that ended is no longer counted; the engine does not end mid-run.
      }
    }
    return ticks / tick;
  };
}

const isSelf = (pid: number) => pid === process.pid;

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/**
 * CPU time (user + system, ms) used so far by a process and all its descendants, from
 * /proc/<pid>/stat: the same meter for a Node worker (with its threads) and a Python prefork
 * worker (the consumer plus its pool processes). Unlike a rate it barely moves when other jobs
 * load the machine, so "CPU per task" compares fairly on a busy box. NaN where /proc is missing.
 */
export function processTreeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  ticksPerSecond ??= clockTicks();
  try {
    return (treeTicks(pid) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

function treeTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let ticks = Number(fields[11]) + Number(fields[12]);
  for (const child of childrenOf(pid)) {
    try {
      ticks += treeTicks(child);
    } catch {
      // Exited between the listing and the read.
    }
  }
  return ticks;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list) children.push(...list.split(' ').map(Number));
    } catch {
      // Thread gone.
    }
  }
  return children;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

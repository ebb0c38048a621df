import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux). */
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return ticksPerSecond;
}

/**
 * User + system CPU time in clock ticks from the text of /proc/<pid>/stat, all threads of the process included (GC and
 * I/O helper threads count). The command name in parentheses may itself hold spaces and parentheses, so fields are
 * counted from the last `)`: utime and stime are fields 14 and 15.
 */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`cannot read CPU times from /proc stat: ${stat.slice(0, 200)}`);
  return utime + stime;
}

/** CPU seconds used so far by the processes `pids` (user + system, every thread). */
export function cpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')), 0) / clockTicks();
}

/** Measures the CPU seconds `pids` use while `run` runs. */
export async function withCpu<T>(pids: readonly number[], run: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const before = cpuSeconds(pids);
  const result = await run();
  return { result, cpuSeconds: cpuSeconds(pids) - before };
}

/** CPU microseconds per request, from the CPU seconds a run used and its request count. */
export function cpuUsPerRequest(cpu: number, requests: number): number {
  return (cpu * 1e6) / requests;
}

/** The load average line of `uptime`, to print beside figures measured on a shared machine. */
export function loadAverage(): string {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ');
  return `load average ${one}, ${five}, ${fifteen}`;
}

// Running a command from a test (no shell): shared by the consumer tests, the cluster tests and the e2e harness.
import { spawnSync } from 'node:child_process';

/** What a finished command left. */
export interface Run {
  /** Exit status; null when it was killed (a time-out) or could not start. */
  readonly status: number | null;
  readonly stdout: string;
  /** Its standard error, then the spawn error if there was one. */
  readonly stderr: string;
}

/** How to run a command. */
export interface RunOptions {
  /** Working directory. @default - this process's */
  readonly cwd?: string;
  /** Standard input. @default - none */
  readonly input?: string;
  /** Variables added to this process's environment. @default - none */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill it after this many milliseconds. @default - no limit */
  readonly timeoutMs?: number;
}

/** Runs a command and returns its status and output; never throws. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Run {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd, input: opts.input, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: opts.timeoutMs,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Runs a command and returns its standard output; throws, naming the command and showing its output, unless it exits 0. */
export function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    const how = r.status === null ? 'did not finish' : `exited ${r.status}`;
    throw new Error(`${[cmd, ...args].join(' ')} ${how}${opts.cwd ? ` in ${opts.cwd}` : ''}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

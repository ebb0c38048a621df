import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled service, as the image runs it (`npm run build:service` makes it). */
export const SERVICE_MAIN = join(__dirname, '..', 'build', 'number-crunch', 'src', 'main.js');

/** A running service process and the log lines it printed. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose `msg` is `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts the compiled service on a free loopback port and waits for its startup log line. `command` runs it: the
 * node binary (default: the one running this process), optionally behind a launcher such as `taskset -c 0`. `main` is
 * the script it runs (default: the service's own); another one must print the same `listening` line.
 */
export function startService(
  env: Record<string, string> = {}, command: readonly string[] = [process.execPath], main: string = SERVICE_MAIN,
): Promise<ServiceProcess> {
  if (!existsSync(SERVICE_MAIN)) {
    throw new Error(`${SERVICE_MAIN} is missing: run \`npm run build:service\` (npm test does it first)`);
  }
  const child = spawn(command[0], [...command.slice(1), main], {
    env: { ...process.env, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (msg: string, timeoutMs = 5_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    const check = () => {
      const line = lines.find((l) => l.msg === msg);
      if (line) {
        clearTimeout(timer);
        resolve(line);
      } else {
        waiters.push(check);
      }
    };
    check();
  });
  const exitedEarly = exited.then((code) => {
    throw new Error(`service exited with code ${code} before listening: ${JSON.stringify(lines)}`);
  });
  return Promise.race([waitForLog('listening'), exitedEarly])
    .then((line) => ({ child, port: line.port as number, lines, waitForLog, exited }));
}

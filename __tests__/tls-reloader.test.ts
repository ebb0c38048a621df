import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsReloaderProbe, tlsReloaderScript } from '../lib/tls-reloader';
import { busyboxDir } from '../test-support/busybox';
import { SecretVolume } from '../test-support/secret-volume';

// The tls-reloader's script itself, run by the shells of the proxy's images: dash (Debian's nginx images) and busybox
// ash (the alpine image and the test cluster's stand-in; Debian's busybox-static from scripts/fetch-busybox.sh, with
// its sha256sum and sleep first on PATH). It watches a directory written the way the kubelet writes a Secret volume,
// and signals the process named by a pid file: a stand-in of nginx's master (a node process that took its title and
// counts the SIGHUPs it gets).

const CHECK_SECONDS = 0.2;
/** Long enough for several looks of the script. */
const QUIET_MS = 1_200;

/** A process that calls itself `title` and prints a line for each SIGHUP. */
const FAKE = "process.title = process.argv[1]; process.on('SIGHUP', () => console.log('HUP')); setInterval(() => undefined, 60_000);";

interface Fake {
  readonly pid: number;
  readonly child: ChildProcess;
  hups(): number;
}

function startFake(title: string): Fake {
  const child = spawn(process.execPath, ['-e', FAKE, title, 'x'.repeat(title.length)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  return { pid: child.pid!, child, hups: () => out.split('\n').filter((l) => l === 'HUP').length };
}

async function waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pem = (label: string, version: number) => `-----BEGIN ${label}-----\nversion ${version}\n-----END ${label}-----\n`;
const secret = (version: number) => ({ 'tls.crt': pem('CERTIFICATE', version), 'tls.key': pem('PRIVATE KEY', version) });

/** The shells to run the script with: [label, command, directory put first on PATH]. */
function shells(): { found: Array<[string, string, string | undefined]>; missing: string[] } {
  const found: Array<[string, string, string | undefined]> = [];
  const missing: string[] = [];
  if (spawnSync('dash', ['-c', 'true']).status === 0) found.push(['dash', 'dash', undefined]);
  else missing.push('dash is not installed (apt-get install dash)');
  try {
    const dir = busyboxDir();
    found.push(['busybox ash', join(dir, 'sh'), dir]);
  } catch (e) {
    missing.push(`no busybox (scripts/fetch-busybox.sh): ${(e as Error).message.trim().split('\n').slice(-1)[0]}`);
  }
  return { found, missing };
}

const { found, missing } = shells();
if (missing.length > 0) {
  if (process.env.CI === 'true') {
    test('every shell of the proxy\'s images is here', () => {
      throw new Error(missing.join('; '));
    });
  } else {
    console.warn(`SKIPPING tls-reloader script tests for: ${missing.join('; ')}`);
  }
}

test('the script and the probe pass shellcheck as POSIX sh', () => {
  const check = (text: string) => spawnSync('shellcheck', ['--shell=sh', '-'], { input: text, encoding: 'utf8' });
  if (check('true\n').error) {
    if (process.env.CI === 'true') throw new Error('shellcheck is not installed (apt-get install shellcheck)');
    console.warn('SKIPPING shellcheck of the tls-reloader script: shellcheck is not installed');
    return;
  }
  const pidFile = '/tmp/nginx.pid';
  for (const text of [tlsReloaderScript({ certificateDir: '/etc/nginx/tls', checkSeconds: 5, pidFile }), `${tlsReloaderProbe(pidFile)}\n`]) {
    const r = check(text);
    expect({ status: r.status, output: r.stdout }).toEqual({ status: 0, output: '' });
  }
});

(found.length > 0 ? describe.each(found) : describe.skip.each([['no shell', '', undefined]]))('the tls-reloader script under %s', (_label, shell, pathDir) => {
  const work = mkdtempSync(join(tmpdir(), 'nc-tls-reloader-'));
  const pidFile = join(work, 'nginx.pid');
  const volume = new SecretVolume(join(work, 'tls'));
  const env = { ...process.env, PATH: pathDir ? `${pathDir}:${process.env.PATH}` : process.env.PATH };
  let master: Fake;
  let worker: Fake;
  let reloader: ChildProcess;
  let log = '';
  const lines = (pattern: RegExp) => log.split('\n').filter((l) => pattern.test(l));
  /** Writes secret `version`, waits for the master's SIGHUP number `hups`, then a while longer: no other comes. */
  const rotateTo = async (version: number, hups: number) => {
    volume.write(secret(version));
    await waitFor(() => master.hups() >= hups, 5_000, `SIGHUP number ${hups}`);
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(hups);
    expect(worker.hups()).toBe(0);
  };

  beforeAll(() => {
    volume.write(secret(1));
    master = startFake('nginx: master process nginx -e stderr -c /etc/nginx/proxy/nginx.conf -g daemon off;');
    worker = startFake('nginx: worker process');
    // As nginx writes it: the pid and a newline.
    writeFileSync(pidFile, `${master.pid}\n`);
    reloader = spawn(shell, ['-c', tlsReloaderScript({ certificateDir: volume.dir, checkSeconds: CHECK_SECONDS, pidFile })], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    reloader.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
    reloader.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
  });
  afterAll(() => {
    for (const p of [reloader, master?.child, worker?.child]) p?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  test('signals nothing while the certificate stays as it was at its start', async () => {
    await sleep(QUIET_MS);
    expect({ hups: master.hups(), log }).toEqual({ hups: 0, log: '' });
  });

  test('a new certificate and key: exactly one SIGHUP to the pid file\'s process, one log line', async () => {
    await rotateTo(2, 1);
    expect(log).toBe(`tls-reloader: ${volume.dir} changed: SIGHUP to nginx master process ${master.pid}\n`);
  });

  test('a new ..data with the same content signals nothing: the content counts, not the link', async () => {
    volume.write(secret(2));
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(1);
  });

  test('a key missing mid-swap: no signal, one log line, and the script keeps going', async () => {
    volume.write({ 'tls.crt': pem('CERTIFICATE', 3) });
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(1);
    expect(lines(/cannot read/)).toEqual([
      `tls-reloader: cannot read ${volume.dir}/tls.crt or ${volume.dir}/tls.key; nginx keeps its certificate; trying again every ${CHECK_SECONDS} s`,
    ]);
    expect(reloader.exitCode).toBeNull();
  });

  test('the key back with a new pair: exactly one more SIGHUP', async () => {
    await rotateTo(3, 2);
    expect(lines(/SIGHUP/)).toHaveLength(2);
    expect(reloader.exitCode).toBeNull();
  });

  test('a change while the pid file is missing (nginx restarting): logged once, kept, and sent when nginx is back', async () => {
    rmSync(pidFile);
    volume.write(secret(4));
    await waitFor(() => lines(/could not be signalled/).length > 0, 5_000, 'the log line');
    await sleep(QUIET_MS);
    expect(lines(/could not be signalled/)).toEqual([
      `tls-reloader: ${volume.dir} changed, but nginx's master process (pid '' in ${pidFile}) could not be signalled; trying again every ${CHECK_SECONDS} s`,
    ]);
    expect(master.hups()).toBe(2);
    // The same certificate, no new change: it still reaches nginx once the pid file is back.
    writeFileSync(pidFile, `${master.pid}\n`);
    await waitFor(() => master.hups() >= 3, 5_000, 'the pending SIGHUP');
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(3);
    await rotateTo(5, 4);
    expect(reloader.exitCode).toBeNull();
  });

  test('the probe passes while the pid file names a process it may signal, and fails, saying why, otherwise', () => {
    const probe = (file: string) => spawnSync(shell, ['-c', tlsReloaderProbe(file)], { env, encoding: 'utf8' });
    expect(probe(pidFile).status).toBe(0);
    const failure = (pid: string) => ({
      status: 1, stdout: `cannot signal nginx's master process (pid '${pid}' in ${join(work, 'other.pid')}): the pod needs shareProcessNamespace and nginx's runAsUser\n`,
    });
    const other = join(work, 'other.pid');
    for (const [content, pid] of [[undefined, ''], ['1\n', '1'], ['999999999\n', '999999999']]) {
      rmSync(other, { force: true });
      if (content !== undefined) writeFileSync(other, content);
      const r = probe(other);
      expect({ status: r.status, stdout: r.stdout }).toEqual(failure(pid!));
    }
  });
});

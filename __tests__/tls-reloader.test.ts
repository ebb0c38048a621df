import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX_MASTER_TITLE, tlsReloaderProbe, tlsReloaderScript } from '../lib/tls-reloader';
import { SecretVolume } from '../test-support/secret-volume';

// The tls-reloader's script itself, run by the shells of the proxy's images: dash (Debian's nginx images) and busybox
// ash (the alpine image and the test cluster's stand-in; Debian's busybox-static from scripts/fetch-busybox.sh, with
// its sha256sum and sleep first on PATH). It watches a directory written the way the kubelet writes a Secret volume,
// and finds processes in a fake /proc that lists stand-ins of nginx's master and a worker (node processes that took
// nginx's titles, so their real cmdline is copied, and that count the SIGHUPs they get). The fake /proc keeps the
// test to its own processes: the machine's real nginx masters are never looked at.

const CHECK_SECONDS = 0.2;
/** Long enough for several looks of the script. */
const QUIET_MS = 1_200;

/** A process that calls itself `title` and prints a line for each SIGHUP. */
const FAKE = "process.title = process.argv[1]; process.on('SIGHUP', () => console.log('HUP')); setInterval(() => undefined, 60_000);";

interface Fake {
  readonly child: ChildProcess;
  hups(): number;
}

function startFake(title: string, procDir: string): Promise<Fake> {
  // The padding argument gives the title room: a process can only rewrite the space its arguments had.
  const child = spawn(process.execPath, ['-e', FAKE, title, 'x'.repeat(title.length)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  return waitFor(() => {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'latin1');
    } catch {
      return false;
    }
    if (!cmdline.startsWith(title)) return false;
    mkdirSync(join(procDir, String(child.pid)));
    writeFileSync(join(procDir, String(child.pid), 'cmdline'), cmdline, 'latin1');
    return true;
  }, 5_000, `process titled "${title}"`).then(() => ({ child, hups: () => out.split('\n').filter((l) => l === 'HUP').length }));
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
    const dir = execFileSync(join(__dirname, '..', 'scripts', 'fetch-busybox.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
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
  for (const text of [tlsReloaderScript({ certificateDir: '/etc/nginx/tls', checkSeconds: 5 }), `${tlsReloaderProbe()}\n`]) {
    const r = check(text);
    expect({ status: r.status, output: r.stdout }).toEqual({ status: 0, output: '' });
  }
});

(found.length > 0 ? describe.each(found) : describe.skip.each([['no shell', '', undefined]]))('the tls-reloader script under %s', (_label, shell, pathDir) => {
  const work = mkdtempSync(join(tmpdir(), 'nc-tls-reloader-'));
  const procDir = join(work, 'proc');
  const volume = new SecretVolume(join(work, 'tls'));
  const env = { ...process.env, PATH: pathDir ? `${pathDir}:${process.env.PATH}` : process.env.PATH };
  let master: Fake;
  let worker: Fake;
  let probe: Fake;
  let reloader: ChildProcess;
  let log = '';
  const lines = (pattern: RegExp) => log.split('\n').filter((l) => pattern.test(l));

  beforeAll(async () => {
    mkdirSync(procDir);
    volume.write(secret(1));
    master = await startFake(`${NGINX_MASTER_TITLE} nginx -e stderr -c /etc/nginx/proxy/nginx.conf -g daemon off;`, procDir);
    worker = await startFake('nginx: worker process', procDir);
    // The sidecar's probe, running: its command line holds the master's title, though not first.
    probe = await startFake(`sh -c ${tlsReloaderProbe()}`, procDir);
    const script = tlsReloaderScript({ certificateDir: volume.dir, checkSeconds: CHECK_SECONDS, procDir });
    reloader = spawn(shell, ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    reloader.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
    reloader.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
    // The script's own shell is listed too, as in the pod.
    mkdirSync(join(procDir, String(reloader.pid)));
    writeFileSync(join(procDir, String(reloader.pid), 'cmdline'), readFileSync(`/proc/${reloader.pid}/cmdline`));
  }, 15_000);
  afterAll(() => {
    for (const p of [reloader, master?.child, worker?.child, probe?.child]) p?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  test('signals nothing while the certificate stays as it was at its start', async () => {
    await sleep(QUIET_MS);
    expect({ hups: master.hups(), log }).toEqual({ hups: 0, log: '' });
  });

  test('a new certificate and key: exactly one SIGHUP to the master, one log line, nothing to the others', async () => {
    volume.write(secret(2));
    await waitFor(() => master.hups() > 0, 5_000, 'the SIGHUP');
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(1);
    expect([worker.hups(), probe.hups()]).toEqual([0, 0]);
    expect(log).toBe(`tls-reloader: ${volume.dir} changed: SIGHUP to nginx master process ${master.child.pid}\n`);
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
    volume.write(secret(3));
    await waitFor(() => master.hups() > 1, 5_000, 'the second SIGHUP');
    await sleep(QUIET_MS);
    expect(master.hups()).toBe(2);
    expect([worker.hups(), probe.hups()]).toEqual([0, 0]);
    expect(lines(/SIGHUP/)).toHaveLength(2);
    expect(reloader.exitCode).toBeNull();
  });

  test('the probe passes while a master it may signal is listed, and fails, saying why, when none is', () => {
    const probe = (dir: string) => spawnSync(shell, ['-c', tlsReloaderProbe({ procDir: dir })], { env, encoding: 'utf8' });
    expect(probe(procDir).status).toBe(0);
    const empty = join(work, 'empty-proc');
    mkdirSync(empty);
    const none = probe(empty);
    expect({ status: none.status, stdout: none.stdout }).toEqual({
      status: 1, stdout: 'no nginx master process this user may signal: the pod needs shareProcessNamespace and nginx\'s runAsUser\n',
    });
  });
});

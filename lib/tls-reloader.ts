// The tls-reloader sidecar's shell: POSIX sh using only `read`, `kill`, `sha256sum` and `sleep`, so that it runs in
// the proxy's own nginx image (busybox ash in the alpine image and in the test cluster's stand-in, dash in Debian's).

/** Name of the sidecar that makes nginx reload when the mounted certificate changes. */
export const TLS_RELOADER_NAME = 'tls-reloader';
/** Seconds between two looks at the mounted certificate and key, by default. */
export const DEFAULT_RELOAD_CHECK_SECONDS = 5;
/** Most seconds `tls.reloadCheckSeconds` may be. */
export const MAX_RELOAD_CHECK_SECONDS = 3600;

/** Options of `tlsReloaderScript`. */
export interface TlsReloaderOptions {
  /** Directory of the mounted `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`), read through its `..data` link. */
  readonly certificateDir: string;
  /** Seconds between two looks. */
  readonly checkSeconds: number;
  /** nginx's pid file (nginx.conf's `pid`), in the emptyDir nginx writes it to, mounted read-only in the sidecar. */
  readonly pidFile: string;
}

/** `s` as one sh word: as it is when it holds nothing special to sh, else single-quoted. */
const quote = (s: string) => (/^[A-Za-z0-9_./:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * Shell that reads nginx's master pid from `pidFile` into `$p` and succeeds when that process may be sent `signal`. A
 * pid file that is missing or unreadable leaves `$p` empty; pid 1 is refused: in a pod that shares its process
 * namespace the pause container is PID 1, and in one that does not, PID 1 is the sidecar's own shell.
 */
function nginxMaster(pidFile: string, signal: 'HUP' | '0'): string {
  return `p=''; read -r p 2>/dev/null <${quote(pidFile)}; [ -n "$p" ] && [ "$p" != 1 ] && kill -s ${signal} "$p"`;
}

/**
 * The sidecar's script (`sh -c`): every `checkSeconds` it takes the SHA-256 of `tls.crt` and `tls.key` and, when they
 * differ from the ones nginx last loaded, sends SIGHUP to nginx's master process, whose pid nginx wrote to `pidFile`
 * (nginx re-reads its config and certificate, and its old workers finish their requests), with one log line per
 * change. Nothing is signalled while they are unchanged, nor at start. A signal that cannot be sent (nginx
 * restarting, its pid file not yet written) keeps the change pending: it is logged once and sent at a later look. A
 * read that fails (a file missing) changes nothing and is logged once; the loop never exits by itself.
 */
export function tlsReloaderScript(o: TlsReloaderOptions): string {
  const every = o.checkSeconds;
  return `# ${TLS_RELOADER_NAME}: nginx reloads when tls.crt or tls.key changes
d=${quote(o.certificateDir)}
last='' unreadable='' unsignalled=''
while :; do
  if now=$(sha256sum "$d/tls.crt" "$d/tls.key" 2>/dev/null); then
    unreadable=''
    if [ -z "$last" ]; then
      last=$now
    elif [ "$now" != "$last" ]; then
      if ${nginxMaster(o.pidFile, 'HUP')}; then
        echo "${TLS_RELOADER_NAME}: $d changed: SIGHUP to nginx master process $p"
        last=$now unsignalled=''
      elif [ -z "$unsignalled" ]; then
        unsignalled=1
        echo "${TLS_RELOADER_NAME}: $d changed, but nginx's master process (pid '$p' in ${o.pidFile}) could not be signalled; trying again every ${every} s"
      fi
    fi
  elif [ -z "$unreadable" ]; then
    unreadable=1
    echo "${TLS_RELOADER_NAME}: cannot read $d/tls.crt or $d/tls.key; nginx keeps its certificate; trying again every ${every} s"
  fi
  sleep ${every}
done
`;
}

/**
 * The sidecar's probe (`sh -c`): exits 0 when nginx's master process, named by `pidFile`, may be signalled by this
 * user (the process namespace is shared and the users match), else says what is needed and exits 1.
 */
export function tlsReloaderProbe(pidFile: string): string {
  return `if ${nginxMaster(pidFile, '0')}; then exit 0; fi; echo "cannot signal nginx's master process (pid '$p' in ${pidFile}): ` +
    `the pod needs shareProcessNamespace and nginx's runAsUser"; exit 1`;
}

// The tls-reloader sidecar's shell: POSIX sh using only `read`, `kill`, `sha256sum` and `sleep`, so that it runs in
// the proxy's own nginx image (busybox ash in the alpine image and in the test cluster's stand-in, dash in Debian's).

/** Name of the sidecar that makes nginx reload when the mounted certificate changes. */
export const TLS_RELOADER_NAME = 'tls-reloader';
/** Seconds between two looks at the mounted certificate and key, by default. */
export const DEFAULT_RELOAD_CHECK_SECONDS = 5;
/** Most seconds `tls.reloadCheckSeconds` may be. */
export const MAX_RELOAD_CHECK_SECONDS = 3600;
/** What nginx's master process calls itself (its `/proc/<pid>/cmdline` starts with it); workers say "worker process". */
export const NGINX_MASTER_TITLE = 'nginx: master process';

/** Options of `tlsReloaderScript` and `tlsReloaderProbe`. */
export interface TlsReloaderOptions {
  /** Directory of the mounted `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`), read through its `..data` link. */
  readonly certificateDir: string;
  /** Seconds between two looks. */
  readonly checkSeconds: number;
  /** Where the processes are listed: the pod's `/proc`, shared with nginx's container (`shareProcessNamespace`). @default '/proc' */
  readonly procDir?: string;
}

/** `s` as one sh word: as it is when it holds nothing special to sh, else single-quoted. */
const quote = (s: string) => (/^[A-Za-z0-9_./:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * Shell that runs `action` with `$p` set to the pid of each nginx master process under procDir. `t` is emptied first
 * each time: a process that ended between the glob and the read leaves nothing behind.
 */
function forEachNginxMaster(procDir: string, action: string): string {
  return `for c in ${quote(procDir)}/[0-9]*/cmdline; do t=; IFS= read -r t 2>/dev/null <"$c"; ` +
    `case $t in ${quote(NGINX_MASTER_TITLE)}*) p=\${c%/cmdline}; p=\${p##*/}; ${action};; esac; done`;
}

/**
 * The sidecar's script (`sh -c`): every `checkSeconds` it takes the SHA-256 of `tls.crt` and `tls.key` and, when they
 * differ from the last ones read, sends SIGHUP to nginx's master process (nginx re-reads its config and certificate,
 * and its old workers finish their requests), with one log line per signal. Nothing is signalled while they are
 * unchanged, nor at start. A read that fails (a file missing) changes nothing and is logged once; the loop never
 * exits by itself.
 */
export function tlsReloaderScript(o: TlsReloaderOptions): string {
  const dir = quote(o.certificateDir);
  const every = o.checkSeconds;
  return `# ${TLS_RELOADER_NAME}: nginx reloads when tls.crt or tls.key changes
d=${dir}
last='' unreadable=''
while :; do
  if now=$(sha256sum "$d/tls.crt" "$d/tls.key" 2>/dev/null); then
    unreadable=
    if [ -n "$last" ] && [ "$now" != "$last" ]; then
      n=0
      ${forEachNginxMaster(o.procDir ?? '/proc', 'kill -s HUP "$p" && n=$((n + 1)) && echo "' + TLS_RELOADER_NAME + ': $d changed: SIGHUP to nginx master process $p"')}
      [ "$n" -gt 0 ] || echo "${TLS_RELOADER_NAME}: $d changed, but no nginx master process could be signalled"
    fi
    last=$now
  elif [ -z "$unreadable" ]; then
    unreadable=1
    echo "${TLS_RELOADER_NAME}: cannot read $d/tls.crt or $d/tls.key; nginx keeps its certificate; trying again every ${every} s"
  fi
  sleep ${every}
done
`;
}

/**
 * The sidecar's probe (`sh -c`): exits 0 when an nginx master process is there to be signalled by this user (the
 * process namespace is shared and the users match), else says what is missing and exits 1.
 */
export function tlsReloaderProbe(o: Pick<TlsReloaderOptions, 'procDir'> = {}): string {
  return `${forEachNginxMaster(o.procDir ?? '/proc', 'kill -s 0 "$p" && exit 0')}; ` +
    `echo "no nginx master process this user may signal: the pod needs shareProcessNamespace and nginx's runAsUser"; exit 1`;
}

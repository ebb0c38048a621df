// Busybox for the tests that run the tls-reloader's script the way the proxy's image does (busybox ash).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

let dir: string | undefined;

/**
 * The directory of busybox commands (`sh`, `sha256sum`, `sleep`, ...) of scripts/fetch-busybox.sh: Debian's
 * busybox-static, the one in the test cluster's nginx stand-in. Fetched once; throws, with the script's message, when
 * it cannot be had.
 */
export function busyboxDir(): string {
  dir ??= execFileSync(join(__dirname, '..', 'scripts', 'fetch-busybox.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return dir;
}

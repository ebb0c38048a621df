import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The Go module with the reference service and the fixed-rate load generator (standard library only). */
export const GO_REFERENCE_DIR = join(__dirname, '..', '..', 'bench', 'go-reference');

/**
 * Builds a package of bench/go-reference (`.` is the reference service, `./fixedrate` the load generator) with the
 * machine's Go into `outFile`, offline: the module has no dependencies. Throws with the fix when Go is missing.
 */
export function buildGo(pkg: string, outFile: string): string {
  try {
    execFileSync('go', ['build', '-trimpath', '-o', outFile, pkg], {
      cwd: GO_REFERENCE_DIR, stdio: 'pipe', env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('Go is not installed: the Go reference needs the go command on PATH (apt-get install -y golang-go, or Go 1.19+ from go.dev)', { cause: e });
    throw new Error(`go build ${pkg} failed:\n${err.stderr?.toString() ?? err.message}`, { cause: e });
  }
  return outFile;
}

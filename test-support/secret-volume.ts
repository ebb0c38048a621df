// A directory laid out and updated the way the kubelet writes a Secret volume (its AtomicWriter), for the tests of the
// tls-reloader sidecar: the unit test of its script and the end-to-end certificate rotation.
import { chmodSync, existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files of a Secret volume live in a timestamped directory `..<time>`; the link `..data` points at it and each key
 * is a link `<key> -> ..data/<key>`. An update writes a new timestamped directory, points a new link `..data_tmp` at
 * it and renames that over `..data` (atomic: a reader sees all old files or all new ones), adds and removes the key
 * links, then removes the old directory. Modes as the kubelet's defaults: directories 0755, files 0644.
 * @see https://github.com/kubernetes/kubernetes/blob/master/pkg/volume/util/atomic_writer.go
 */
export class SecretVolume {
  private updates = 0;
  private keys: string[] = [];

  /** `dir` is made when missing; nothing is written until `write`. */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }

  /** Makes `files` (key to content) the volume's whole content, atomically, as the kubelet does after a change. */
  write(files: Record<string, string>): void {
    const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${++this.updates}`;
    const data = join(this.dir, '..data');
    const old = existsSync(data) ? readlinkSync(data) : undefined;
    mkdirSync(join(this.dir, stamp), { mode: 0o755 });
    chmodSync(join(this.dir, stamp), 0o755);
    for (const [key, content] of Object.entries(files)) {
      writeFileSync(join(this.dir, stamp, key), content, { mode: 0o644 });
    }
    rmSync(join(this.dir, '..data_tmp'), { force: true });
    symlinkSync(stamp, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), data);
    for (const key of Object.keys(files)) {
      if (!existsSync(join(this.dir, key))) symlinkSync(join('..data', key), join(this.dir, key));
    }
    for (const key of this.keys) {
      if (!(key in files)) rmSync(join(this.dir, key), { force: true });
    }
    this.keys = Object.keys(files);
    if (old !== undefined) rmSync(join(this.dir, old), { recursive: true, force: true });
  }
}

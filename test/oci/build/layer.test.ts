// The reproducible layer writer (src/oci/build): tar headers GNU tar reads back, sorted
// entries, fixed times and owners, the gzip header, .dockerignore patterns, the refusals, and
// the config changes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectAdd, mergeEntries, parseAddSpec } from '../../../src/oci/build/collect.js';
import { ciAnnotations, execForm, mergeEnv, mutateConfig } from '../../../src/oci/build/config.js';
import { parseIgnore } from '../../../src/oci/build/ignore.js';
import { buildLayer, GZIP_OS_UNKNOWN, prebuiltLayer } from '../../../src/oci/build/layer.js';
import { type LayerEntry, sortEntries, tarStream } from '../../../src/oci/build/tar.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-layer-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function tarList(file: string): string {
  return execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], {
    encoding: 'utf8',
    env: { TZ: 'UTC' },
  });
}

describe('tar writer', () => {
  it('writes headers GNU tar reads back: long names (prefix and PAX), long link targets, modes, owners, mtime', async () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}.txt`;
    const huge = `${'g'.repeat(120)}/${'h'.repeat(200)}`;
    const entries: LayerEntry[] = sortEntries([
      { name: 'b', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
      { name: 'b/x.sh', type: 'file', mode: 0o4755, uid: 1000, gid: 2000, size: 3, content: Buffer.from('hi\n') },
      { name: long, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 1, content: Buffer.from('1') },
      { name: huge, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, content: Buffer.alloc(0) },
      { name: 'a-link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, linkname: `/${'t'.repeat(150)}` },
    ]);
    const file = path.join(tmp, 'headers.tar');
    writeFileSync(file, await bytesOf(tarStream(entries, 1_700_000_000)));
    const out = tarList(file);
    expect(out).toMatch(/-rwsr-xr-x 1000\/2000 +3 2023-11-14 22:13:20 b\/x\.sh/);
    expect(out).toContain(long);
    expect(out).toContain(huge);
    expect(out).toContain(`a-link -> /${'t'.repeat(150)}`);
    // Sorted byte-wise; GNU tar lists in archive order.
    const names = out
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[5]);
    expect(names).toEqual(['a-link', 'b/', 'b/x.sh', long, huge]);
    expect(execFileSync('tar', ['-xOf', file, 'b/x.sh'], { encoding: 'utf8' })).toBe('hi\n');
  });

  it('gzips with a fixed header: mtime 0, OS byte 255, same bytes every time; diff_id is the tar digest', async () => {
    const entries: LayerEntry[] = [
      { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, content: Buffer.from('hello') },
    ];
    const a = await buildLayer(entries, 0, 'x');
    const b = await buildLayer(entries, 0, 'x');
    const bytes = await bytesOf(a.open());
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x1f, 0x8b, 8, 0]));
    expect(bytes.readUInt32LE(4)).toBe(0);
    expect(bytes[9]).toBe(GZIP_OS_UNKNOWN);
    expect(a.descriptor).toEqual(b.descriptor);
    expect(sha(bytes)).toBe(a.descriptor.digest);
    expect(a.diffId).toBe(sha(gunzipSync(bytes)));
    expect(sha(await bytesOf(tarStream(entries, 0)))).toBe(a.diffId);
  });

  it('takes prebuilt layers: a .tar.gz as it is, a .tar compressed like built layers', async () => {
    const tar = await bytesOf(
      tarStream([{ name: 'p', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, content: Buffer.from('p') }], 0),
    );
    writeFileSync(path.join(tmp, 'l.tar'), tar);
    const gz = gzipSync(tar, { level: 9 });
    writeFileSync(path.join(tmp, 'l.tar.gz'), gz);
    const plain = await prebuiltLayer(path.join(tmp, 'l.tar'), 'x');
    const zipped = await prebuiltLayer(path.join(tmp, 'l.tar.gz'), 'x');
    expect(plain.diffId).toBe(sha(tar));
    expect(zipped.diffId).toBe(sha(tar));
    expect(zipped.descriptor.digest).toBe(sha(gz));
    expect(gunzipSync(await bytesOf(plain.open()))).toEqual(tar);
    await expect(prebuiltLayer(path.join(tmp, 'missing.tar'), 'x')).rejects.toThrow(/does not exist/);
  });
});

describe('--add', () => {
  it('parses SRC:DEST[:MODE[:UID:GID]] and refuses malformed specs', () => {
    expect(parseAddSpec('./a:/app', '/w')).toEqual({ source: '/w/a', dest: '/app', given: './a:/app' });
    expect(parseAddSpec('a:/opt/:0644:1:2', '/w')).toMatchObject({ dest: '/opt/', mode: 0o644, uid: 1, gid: 2 });
    expect(() => parseAddSpec('a:app', '/w')).toThrow(/absolute/);
    expect(() => parseAddSpec('a:/x:999', '/w')).toThrow(/octal/);
    expect(() => parseAddSpec('a:/x:0644:1', '/w')).toThrow(/SRC:DEST/);
    expect(() => parseAddSpec('a:/../etc', '/w')).toThrow(/inside the image/);
  });

  it('walks a tree: parents of DEST, modes kept or set, links kept, owners 0 or given, ignore patterns', async () => {
    const src = path.join(tmp, 'tree');
    mkdirSync(path.join(src, 'sub', 'deep'), { recursive: true });
    mkdirSync(path.join(src, 'node_modules', 'keep'), { recursive: true });
    writeFileSync(path.join(src, 'a.js'), 'a');
    writeFileSync(path.join(src, 'b.log'), 'b');
    writeFileSync(path.join(src, 'sub', 'deep', 'c.log'), 'c');
    writeFileSync(path.join(src, 'node_modules', 'x.js'), 'x');
    writeFileSync(path.join(src, 'node_modules', 'keep', 'k.js'), 'k');
    chmodSync(path.join(src, 'a.js'), 0o640);
    symlinkSync('../a.js', path.join(src, 'sub', 'link'));
    const ignore = parseIgnore('# comment\n**/*.log\nnode_modules\n!node_modules/keep\n');
    const entries = await collectAdd(parseAddSpec(`${src}:/srv/app`, '/'), ignore);
    const view = entries.map((e) => `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}`);
    expect(view).toEqual([
      'dir srv 755 0',
      'dir srv/app 755 0',
      'file srv/app/a.js 640 0',
      'dir srv/app/node_modules 755 0',
      'dir srv/app/node_modules/keep 755 0',
      'file srv/app/node_modules/keep/k.js 644 0',
      'dir srv/app/sub 755 0',
      'dir srv/app/sub/deep 755 0',
      'symlink srv/app/sub/link 777 0',
    ]);
    const set = await collectAdd(parseAddSpec(`${src}/a.js:/bin/:0755:7:8`, '/'));
    expect(set.map((e) => `${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid}`)).toEqual([
      'bin 755 0:0',
      'bin/a.js 755 7:8',
    ]);
    const merged = mergeEntries([entries, set]);
    expect(merged[0]?.name).toBe('bin');
  });

  it('refuses hard links and fifos, naming the path and a fix', async () => {
    const dir = path.join(tmp, 'bad');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'one'), '1');
    execFileSync('ln', [path.join(dir, 'one'), path.join(dir, 'two')]);
    await expect(collectAdd(parseAddSpec(`${dir}:/x`, '/'))).rejects.toMatchObject({
      message: expect.stringContaining('is a hard link'),
      fix: expect.stringContaining('copy the file'),
    });
    const fifoDir = path.join(tmp, 'fifo');
    mkdirSync(fifoDir);
    execFileSync('mkfifo', [path.join(fifoDir, 'p')]);
    await expect(collectAdd(parseAddSpec(`${fifoDir}:/x`, '/'))).rejects.toThrow(/is a fifo/);
    await expect(collectAdd(parseAddSpec(`${tmp}/nope:/x`, '/'))).rejects.toThrow(/does not exist/);
  });

  it('gives the same layer whatever the mtimes of the files', async () => {
    const src = path.join(tmp, 'times');
    mkdirSync(src);
    writeFileSync(path.join(src, 'f'), 'f');
    const first = await buildLayer(await collectAdd(parseAddSpec(`${src}:/t`, '/')), 0, 'x');
    utimesSync(path.join(src, 'f'), 12345, 12345);
    utimesSync(src, 999, 999);
    const second = await buildLayer(await collectAdd(parseAddSpec(`${src}:/t`, '/')), 0, 'x');
    expect(second.descriptor.digest).toBe(first.descriptor.digest);
  });
});

describe('ignore patterns', () => {
  it('matches as .dockerignore does: components, **, directories cover their contents, ! re-includes', () => {
    const m = parseIgnore('/dist\n*.md\n!README.md\ndocs/**/*.png\nbuild/\n');
    expect(m.excludes('dist')).toBe(true);
    expect(m.excludes('dist/a.js')).toBe(true);
    expect(m.excludes('x.md')).toBe(true);
    expect(m.excludes('README.md')).toBe(false);
    expect(m.excludes('sub/x.md')).toBe(false);
    expect(m.excludes('docs/a/b/c.png')).toBe(true);
    expect(m.excludes('docs/c.png')).toBe(true);
    expect(m.excludes('build/out')).toBe(true);
    expect(m.excludes('src/build.js')).toBe(false);
  });
});

describe('config changes', () => {
  it('merges env, writes exec form, drops the base cmd for a new entrypoint, appends diff_ids and history', () => {
    expect(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3'])).toEqual(['PATH=/bin', 'A=2', 'B=3']);
    expect(execForm('node /app/index.js', '--cmd')).toEqual(['node', '/app/index.js']);
    expect(execForm('["a b","c"]', '--cmd')).toEqual(['a b', 'c']);
    expect(() => execForm('["a",1]', '--entrypoint')).toThrow(/JSON array of strings/);
    const base = {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { a: '1' } },
      rootfs: { type: 'layers', diff_ids: ['sha256:aa'] },
      history: [{ created_by: 'base' }],
    };
    const out = mutateConfig(
      base,
      [{ diffId: 'sha256:bb', createdBy: 'ecrctl build --add app:/app' }],
      { entrypoint: ['node'], env: ['X=1'], labels: { b: '2' }, expose: ['8080'] },
      '2026-01-01T00:00:00Z',
      'ecrctl build --entrypoint --env X',
    );
    expect(out.config).toEqual({
      Env: ['PATH=/bin', 'X=1'],
      Entrypoint: ['node'],
      Labels: { a: '1', b: '2' },
      ExposedPorts: { '8080/tcp': {} },
    });
    expect(out.rootfs).toEqual({ type: 'layers', diff_ids: ['sha256:aa', 'sha256:bb'] });
    expect(out.history).toEqual([
      { created_by: 'base' },
      { created: '2026-01-01T00:00:00Z', created_by: 'ecrctl build --add app:/app', comment: 'ecrctl build' },
      {
        created: '2026-01-01T00:00:00Z',
        created_by: 'ecrctl build --entrypoint --env X',
        comment: 'ecrctl build',
        empty_layer: true,
      },
    ]);
    expect(base.config.Cmd).toEqual(['sh']);
  });

  it('takes source and revision from GitHub Actions, CodeBuild or GitLab variables', () => {
    expect(
      ciAnnotations({
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_SHA: 'abc',
        GITHUB_SERVER_URL: 'https://github.com',
      }),
    ).toEqual({
      'org.opencontainers.image.source': 'https://github.com/o/r',
      'org.opencontainers.image.revision': 'abc',
    });
    expect(
      ciAnnotations({ CODEBUILD_SOURCE_REPO_URL: 'https://git/x', CODEBUILD_RESOLVED_SOURCE_VERSION: 'def' }),
    ).toEqual({
      'org.opencontainers.image.source': 'https://git/x',
      'org.opencontainers.image.revision': 'def',
    });
    expect(ciAnnotations({})).toEqual({});
  });
});

// Property test over the docker-archive and OCI layout readers: random bytes and mutations of
// valid archives and layouts (flipped bytes, cut files, rewritten JSON) are copied the way
// `ecrctl pull` copies them. Whatever the input, the copy ends, within a bound, in success or
// in one of our typed errors (EcrctlError and its kinds), never a TypeError or a hang, and
// nothing is written outside the output directory.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrctlError } from '../../src/errors.js';
import { copyImage } from '../../src/oci/copy.js';
import { DockerArchiveReader, DockerArchiveWriter } from '../../src/oci/layout/docker-archive.js';
import { OciLayout } from '../../src/oci/layout/oci-dir.js';
import { TAR_END, tarHeader, tarPadding } from '../../src/oci/layout/tar.js';
import type { ImageSource } from '../../src/oci/store.js';
import { layerTar, makeImage, writeImage } from '../helpers/layout-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-layout-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Per case: a stuck read would show as this, not as a test timeout. */
const CASE_LIMIT_MS = 5000;
/** Cases per property (ECRCTL_FUZZ_RUNS for a longer hunt); 80 keeps the file under ~5 s. */
const RUNS = Number(process.env.ECRCTL_FUZZ_RUNS ?? 80);
const image = makeImage([layerTar({ 'etc/os-release': 'ID=fuzz\n' }), layerTar({ 'app/a': 'a' })], 'fuzz');

/** Returns all names under dir, relative, sorted ([] when missing; the name of a file). */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [path.basename(dir)];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

let caseNo = 0;
/**
 * Copies what open() returns into a fresh OCI layout inside its own case dir, bounded in
 * time; returns 'ok' or the error. Asserts the case dir then holds only the input and out/.
 */
async function copyCase(
  setup: (caseDir: string) => string,
  open: (input: string) => Promise<ImageSource>,
): Promise<unknown> {
  const caseDir = path.join(root, `case-${caseNo++}`);
  mkdirSync(caseDir);
  const input = setup(caseDir);
  const inputName = path.relative(caseDir, input).split(path.sep)[0]!;
  const inputFiles = listing(input);
  const outputs = path.join(caseDir, 'outputs');
  mkdirSync(outputs);
  const sentinel = path.join(root, 'sentinel');
  mkdirSync(sentinel, { recursive: true });
  const run = (async () => {
    const source = await open(input);
    const target = await OciLayout.create(path.join(outputs, 'out'));
    try {
      await copyImage(source, '', target);
      return 'ok';
    } catch (err) {
      await target.abort();
      throw err;
    } finally {
      await source.close?.();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    run.catch((e: unknown) => e),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(new Error(`no answer within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
    }),
  ]);
  clearTimeout(timer);
  // Nothing beside the input and the output dir; the input unchanged in its file list;
  // nothing in a directory outside the case.
  expect(readdirSync(caseDir).sort()).toEqual([inputName, 'outputs'].sort());
  expect(listing(input)).toEqual(inputFiles);
  expect(readdirSync(outputs).every((n) => n === 'out')).toBe(true);
  expect(readdirSync(sentinel)).toEqual([]);
  rmSync(caseDir, { recursive: true, force: true });
  return outcome;
}

function expectTyped(outcome: unknown): void {
  if (outcome === 'ok') return;
  if (!(outcome instanceof EcrctlError)) throw outcome; // shows the stack of the stray error
  expect(outcome.message.length).toBeGreaterThan(0);
}

/** Mutations of a byte string: flip bytes, cut it, splice random bytes in. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'set') out[at] = m.byte;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
  }
  return out;
}

/** Mutations aimed at tar headers: bytes inside the 512-byte header blocks, which carry sizes and names. */
const headerMutation = fc
  .record({ block: fc.nat(), offset: fc.integer({ min: 0, max: 511 }), byte: fc.integer({ min: 0, max: 255 }) })
  .map(({ block, offset, byte }) => ({ kind: 'set' as const, at: block * 512 + offset, byte }));

/** JSON-ish replacements for index.json and manifests: wrong types where descriptors go. */
const jsonish = fc.oneof(
  fc.json().map((j) => Buffer.from(j)),
  fc
    .record({
      schemaVersion: fc.oneof(fc.constant(2), fc.anything()),
      manifests: fc.oneof(
        fc.array(
          fc.record(
            {
              mediaType: fc.oneof(fc.constant('application/vnd.oci.image.manifest.v1+json'), fc.anything()),
              digest: fc.oneof(
                fc.constantFrom(...image.descriptors.map((d) => d.digest), image.manifest.digest, 'sha256:../../x'),
                fc.anything(),
              ),
              size: fc.oneof(fc.nat(5000), fc.anything()),
              annotations: fc.anything(),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        fc.anything(),
      ),
    })
    .map((o) => Buffer.from(JSON.stringify(o))),
);

/** JSON-ish replacements for a classic manifest.json: wrong types where paths and names go. */
const manifestJsonish = fc
  .array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record(
          {
            Config: fc.oneof(fc.constantFrom('cfg.json', '../cfg.json', '/cfg.json', 'l1'), fc.anything()),
            RepoTags: fc.oneof(
              fc.array(fc.oneof(fc.constantFrom('app:v1', ''), fc.anything()), { maxLength: 2 }),
              fc.anything(),
            ),
            Layers: fc.oneof(
              fc.array(fc.oneof(fc.constantFrom('l1/layer.tar', 'l1'), fc.anything()), { maxLength: 2 }),
              fc.anything(),
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom(null, 1, 'x', [], {}) },
      { weight: 1, arbitrary: fc.anything() },
    ),
    { maxLength: 3 },
  )
  .map((o) => Buffer.from(JSON.stringify(o)));

/** Returns a tar of the files (regular files only), in order. */
function tarOf(files: [string, Buffer][]): Buffer {
  return Buffer.concat([
    ...files.flatMap(([name, data]) => [tarHeader(name, data.length), data, tarPadding(data.length)]),
    TAR_END,
  ]);
}

let modernArchive: Buffer;
let classicArchive: Buffer;
let classicFiles: [string, Buffer][];

async function buildArchives(): Promise<void> {
  const dir = mkdtempSync(path.join(root, 'build-'));
  const writer = await DockerArchiveWriter.create(path.join(dir, 'modern.tar'), 'team/app:v1');
  await writeImage(writer, image, 'v1');
  await writer.commit();
  modernArchive = readFileSync(path.join(dir, 'modern.tar'));
  // The classic form: manifest.json naming a config and a layer.tar by path.
  const files: [string, Buffer][] = [
    ['cfg.json', image.config],
    ['l1/layer.tar', image.layers[0]!],
    ['l2/layer.tar', image.layers[1]!],
    [
      'manifest.json',
      Buffer.from(
        JSON.stringify([{ Config: 'cfg.json', RepoTags: ['app:v1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]),
      ),
    ],
  ];
  classicFiles = files;
  classicArchive = tarOf(files);
  rmSync(dir, { recursive: true, force: true });
}

const archiveCase = (bytes: Buffer, ref?: string) =>
  copyCase(
    (caseDir) => {
      const file = path.join(caseDir, 'in.tar');
      writeFileSync(file, bytes);
      return file;
    },
    (file) => DockerArchiveReader.open(file, ref),
  );

beforeAll(async () => {
  await buildArchives();
  await buildLayout();
});

describe('docker-archive reader on hostile bytes', () => {
  it('copies the valid archives (the baseline the mutations start from)', async () => {
    expect(await archiveCase(modernArchive)).toBe('ok');
    expect(await archiveCase(classicArchive)).toBe('ok');
  });

  it('random bytes and mutated archives end in success or a typed error, in bounded time', async () => {
    // Cases are described (not given as bytes) so that a counterexample prints short.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 1, arbitrary: fc.record({ random: fc.uint8Array({ maxLength: 1500 }) }) },
          {
            weight: 3,
            arbitrary: fc.record({
              manifestJson: manifestJsonish,
              indexJson: fc.option(jsonish, { nil: undefined }),
              ref: fc.constantFrom(undefined, 'app:v1', '@0', 'v1'),
            }),
          },
          {
            weight: 4,
            arbitrary: fc.record({
              modern: fc.boolean(),
              mutations: fc.array(fc.oneof(mutation, headerMutation), { minLength: 1, maxLength: 4 }),
            }),
          },
        ),
        async (c) => {
          const bytes =
            'random' in c
              ? Buffer.from(c.random)
              : 'manifestJson' in c
                ? tarOf([
                    ...classicFiles.filter(([n]) => n !== 'manifest.json'),
                    ['manifest.json', c.manifestJson],
                    ...(c.indexJson === undefined ? [] : [['index.json', c.indexJson] as [string, Buffer]]),
                  ])
                : mutate(c.modern ? modernArchive : classicArchive, c.mutations);
          expectTyped(await archiveCase(bytes, 'ref' in c ? c.ref : undefined));
        },
      ),
      {
        numRuns: RUNS,
        // Found by this property once; kept as fixed cases so they run every time.
        examples: [
          [{ manifestJson: Buffer.from('[null]'), indexJson: undefined, ref: undefined }],
          [{ manifestJson: Buffer.from('[1]'), indexJson: undefined, ref: undefined }],
          [
            {
              manifestJson: Buffer.from('[]'),
              indexJson: Buffer.from(
                JSON.stringify({
                  manifests: [{ ...image.descriptors[0], annotations: { 'org.opencontainers.image.ref.name': 5 } }],
                }),
              ),
              ref: 'app:v1',
            },
          ],
        ],
      },
    );
  });
});

/** A valid layout's files by relative path, to mutate and write back. */
let layoutFiles: Map<string, Buffer>;

async function buildLayout(): Promise<void> {
  const dir = path.join(mkdtempSync(path.join(root, 'build-')), 'layout');
  const target = await OciLayout.create(dir);
  await writeImage(target, image, 'v1');
  await target.commit();
  layoutFiles = new Map(
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .map((f) => [f, readFileSync(path.join(dir, f))]),
  );
}

const layoutCase = (files: Map<string, Buffer>) =>
  copyCase(
    (caseDir) => {
      const dir = path.join(caseDir, 'in');
      for (const [name, bytes] of files) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), bytes);
      }
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    (dir) => OciLayout.open(dir),
  );

describe('OCI layout reader on hostile files', () => {
  it('copies the valid layout (the baseline the mutations start from)', async () => {
    expect([...layoutFiles.keys()].sort()).toContain('index.json');
    expect(await layoutCase(layoutFiles)).toBe('ok');
  });

  it('mutated, replaced and missing files end in success or a typed error, in bounded time', async () => {
    const names = [...layoutFiles.keys()].sort();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            file: fc.constantFrom(...names),
            change: fc.oneof(
              fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => (b: Buffer) => mutate(b, ms)),
              jsonish.map((j) => () => j),
              fc.constant(() => undefined),
            ),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (changes) => {
          const files = new Map(layoutFiles);
          for (const { file, change } of changes) {
            const next = change(files.get(file) ?? Buffer.alloc(0));
            if (next === undefined) files.delete(file);
            else files.set(file, next);
          }
          expectTyped(await layoutCase(files));
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) }, // a layout case writes several files: twice the cost
    );
  });
});

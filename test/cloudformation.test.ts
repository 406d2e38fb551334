// `ecrctl/cloudformation` against the emulator (startLocal) and a loopback HTTP server that
// stands in for the presigned ResponseURL: synthetic Create / Update / Delete events, one
// platform out of a two-platform index, referrers, failures that tag nothing, and the
// response CloudFormation would receive.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CustomResourceEvent,
  type CustomResourceResponse,
  handleCustomResource,
  handler,
  type ImageCopyProperties,
} from '../src/cloudformation.js';
import { NotFoundError } from '../src/errors.js';
import { type LocalEmulator, startLocal } from '../src/local-entry.js';
import { MediaType } from '../src/oci/media-types.js';
import { copy, getManifest, listTags } from '../src/ops/transfer.js';
import { createSession, type Session, type SessionOptions } from '../src/session.js';
import { buildImage, buildIndex, type FixtureImage, writeOciLayout } from './helpers/fixtures.js';

const credentials = { accessKeyId: 'AKIDCFN', secretAccessKey: 'not-a-secret' };
const REPOSITORIES = ['source', 'app', 'arm', 'failed', 'aborted', 'doomed', 'lambda'];

/** What the stand-in ResponseURL received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let ecr: LocalEmulator;
let work: string;
let responses: Server;
let responseBase: string;
const received: Received[] = [];
/** Statuses the ResponseURL answers before 200 (to exercise the retry). */
const failFirst: number[] = [];

/** The images of the source repository. */
let amd: FixtureImage;
let arm: FixtureImage;
let attestation: FixtureImage;
let armSignature: FixtureImage;
let indexSignature: FixtureImage;
let indexDigest: string;
let single: FixtureImage;

function session(options: SessionOptions = {}): Session {
  // The token cache goes to the test's own directory, not ~/.cache.
  const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  return createSession({ endpointUrl: ecr.endpoint, region: ecr.region, credentials, env, cwd: work, ...options });
}

let requestCount = 0;
/** Returns a synthetic event; each gets its own RequestId and ResponseURL path. */
function event(
  type: CustomResourceEvent['RequestType'],
  props: Partial<ImageCopyProperties>,
  extra: Partial<CustomResourceEvent> = {},
): CustomResourceEvent {
  requestCount += 1;
  return {
    RequestType: type,
    ResponseURL: `${responseBase}/cfn-response/${requestCount}?X-Amz-Signature=abc`,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/app/00000000-0000-0000-0000-000000000000',
    RequestId: `request-${requestCount}`,
    LogicalResourceId: 'AppImage',
    ResourceType: 'Custom::EcrImage',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:copier',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:copier',
      ...props,
    } as ImageCopyProperties,
    ...extra,
  };
}

/** Returns what the ResponseURL got for an event, parsed. */
function responseFor(e: CustomResourceEvent): { request: Received; json: CustomResourceResponse } {
  const path = new URL(e.ResponseURL!).pathname;
  const hits = received.filter((r) => r.url.startsWith(path));
  expect(hits, `one response PUT to ${path}`).toHaveLength(1);
  return { request: hits[0]!, json: JSON.parse(hits[0]!.body) as CustomResourceResponse };
}

/** Returns the digest under a tag (or digest), or undefined when the registry has none. */
async function digestAt(ref: string): Promise<string | undefined> {
  try {
    return (await getManifest(session(), `${ecr.registryHost}/${ref}`)).digest;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

beforeAll(async () => {
  ecr = await startLocal();
  work = mkdtempSync(path.join(tmpdir(), 'ecrctl-cfn-'));
  const client = new ECRClient({ endpoint: ecr.endpoint, region: ecr.region, credentials, maxAttempts: 1 });
  for (const name of REPOSITORIES) await client.send(new CreateRepositoryCommand({ repositoryName: name }));
  client.destroy();

  // The source: a two-platform index with a buildx-style attestation manifest, a signature
  // on the index and one on the arm64 image; and a single-platform image.
  amd = buildImage(1, { platform: { os: 'linux', architecture: 'amd64' } });
  arm = buildImage(2, { platform: { os: 'linux', architecture: 'arm64' } });
  attestation = buildImage(3, {
    layers: 1,
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: {
      'vnd.docker.reference.type': 'attestation-manifest',
      'vnd.docker.reference.digest': arm.manifest.digest,
    },
  });
  const index = buildIndex([amd, arm, attestation]);
  indexDigest = index.digest;
  const subject = (m: FixtureImage['manifest']) => ({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length });
  const sigType = 'application/vnd.example.signature.v1+json';
  indexSignature = buildImage(4, { layers: 1, subject: subject(index), artifactType: sigType });
  armSignature = buildImage(5, { layers: 1, subject: subject(arm.manifest), artifactType: sigType });
  single = buildImage(6, { platform: { os: 'linux', architecture: 'amd64' } });
  const layout = path.join(work, 'layout');
  writeOciLayout(layout, [
    { manifest: index, extraImages: [amd, arm, attestation], tag: 'multi' },
    { image: indexSignature },
    { image: armSignature },
    { image: single, tag: 'single' },
  ]);
  const s = session();
  await copy(s, { source: `oci:${layout}:multi`, target: `${ecr.registryHost}/source:multi` });
  await copy(s, { source: `oci:${layout}:single`, target: `${ecr.registryHost}/source:single` });

  responses = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failFirst.shift();
      if (status !== undefined) {
        res.writeHead(status).end();
        return;
      }
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => responses.listen(0, '127.0.0.1', resolve));
  responseBase = `http://127.0.0.1:${(responses.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (responses ? responses.close(() => resolve()) : resolve()));
  await ecr?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('handleCustomResource', () => {
  let created: CustomResourceResponse;

  it('Create copies every platform with its referrers, writes every tag, and answers ResponseURL with the image URI', async () => {
    const e = event('Create', {
      Source: `${ecr.registryHost}/source:multi`,
      Target: 'app:1.0',
      Tags: ['stable', 'prod'],
    });
    created = await handleCustomResource(e, { session: session() });

    expect(created).toMatchObject({
      Status: 'SUCCESS',
      StackId: e.StackId,
      RequestId: e.RequestId,
      LogicalResourceId: 'AppImage',
      Data: { ImageUri: `${ecr.registryHost}/app@${indexDigest}`, ImageDigest: indexDigest },
    });
    expect(created.PhysicalResourceId).toBe(created.Data!.ImageUri);
    for (const tag of ['1.0', 'stable', 'prod']) {
      const digest = await digestAt(`app:${tag}`);
      expect(created.Data!.ImageUri.endsWith(`@${digest}`), tag).toBe(true);
    }
    // Every platform, and the referrers of the index and of the arm64 image.
    for (const d of [amd, arm, attestation, indexSignature, armSignature]) {
      expect(await digestAt(`app@${d.manifest.digest}`)).toBe(d.manifest.digest);
    }

    const { request, json } = responseFor(e);
    expect(request.method).toBe('PUT');
    expect(request.url).toContain('X-Amz-Signature=abc');
    // The presigned URL's signature covers an empty Content-Type.
    expect(request.headers['content-type'] ?? '').toBe('');
    expect(json).toEqual(created);
  });

  it('Update to another source and tags moves the tags, with or without a host in Target', async () => {
    const e = event(
      'Update',
      { Source: `${ecr.registryHost}/source:single`, Target: `${ecr.registryHost}/app`, Tags: 'stable, 2.0' },
      {
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: {
          Source: `${ecr.registryHost}/source:multi`,
          Target: 'app:1.0',
          Tags: ['stable', 'prod'],
        },
      },
    );
    const updated = await handleCustomResource(e, { session: session() });
    expect(updated).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `${ecr.registryHost}/app@${single.manifest.digest}`,
      Data: { ImageUri: `${ecr.registryHost}/app@${single.manifest.digest}`, ImageDigest: single.manifest.digest },
    });
    for (const tag of ['stable', '2.0']) expect(await digestAt(`app:${tag}`)).toBe(updated.Data!.ImageDigest);
    // Tags the update did not name stay where they were.
    expect(await digestAt('app:1.0')).toBe(indexDigest);
    expect(responseFor(e).json).toEqual(updated);
  });

  it('Delete leaves the image in place unless DeleteImage is true', async () => {
    const e = event(
      'Delete',
      { Source: `${ecr.registryHost}/source:multi`, Target: 'app:1.0' },
      { PhysicalResourceId: created.PhysicalResourceId },
    );
    const out = await handleCustomResource(e, { session: session() });
    expect(out).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: created.PhysicalResourceId });
    expect(out.Data).toBeUndefined();
    expect(await digestAt(`app@${indexDigest}`)).toBe(indexDigest);
    expect(responseFor(e).json).toEqual(out);
  });

  it('Delete with DeleteImage true deletes the image by digest; a second Delete finds it gone and succeeds', async () => {
    const props = {
      Source: `${ecr.registryHost}/source:single`,
      Target: 'doomed',
      Tags: ['x'],
      DeleteImage: 'true' as const,
    };
    const made = await handleCustomResource(event('Create', props), { session: session() });
    expect(made.Status).toBe('SUCCESS');
    expect(await digestAt('doomed:x')).toBe(single.manifest.digest);

    const e = event('Delete', props, { PhysicalResourceId: made.PhysicalResourceId });
    const out = await handleCustomResource(e, { session: session() });
    expect(out).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: made.PhysicalResourceId });
    expect(await digestAt('doomed:x')).toBeUndefined();
    expect(await digestAt(`doomed@${single.manifest.digest}`)).toBeUndefined();

    const again = await handleCustomResource(event('Delete', props, { PhysicalResourceId: made.PhysicalResourceId }), {
      session: session(),
    });
    expect(again.Status).toBe('SUCCESS');
  });

  it('Platform linux/arm64 pushes that image manifest alone: arm64 config, no index, no attestation; its signature comes along', async () => {
    const e = event('Create', {
      Source: `${ecr.registryHost}/source:multi`,
      Target: 'arm',
      Tags: ['v1'],
      Platform: 'linux/arm64',
    });
    const out = await handleCustomResource(e, { session: session() });
    expect(out).toMatchObject({
      Status: 'SUCCESS',
      Data: { ImageUri: `${ecr.registryHost}/arm@${arm.manifest.digest}`, ImageDigest: arm.manifest.digest },
    });

    const m = await getManifest(session(), `${ecr.registryHost}/arm:v1`);
    expect(m.digest).toBe(arm.manifest.digest);
    expect(m.mediaType).toBe(MediaType.ociManifest);
    const doc = JSON.parse(m.bytes.toString('utf8')) as { config: { digest: string }; manifests?: unknown };
    expect(doc.manifests).toBeUndefined();
    expect(doc.config.digest).toBe(arm.config.descriptor.digest);
    expect(JSON.parse(arm.config.bytes.toString('utf8'))).toMatchObject({ architecture: 'arm64', os: 'linux' });

    for (const absent of [
      indexDigest,
      amd.manifest.digest,
      attestation.manifest.digest,
      indexSignature.manifest.digest,
    ]) {
      expect(await digestAt(`arm@${absent}`), absent).toBeUndefined();
    }
    expect(await digestAt(`arm@${armSignature.manifest.digest}`)).toBe(armSignature.manifest.digest);
    expect((await listTags(session(), `${ecr.registryHost}/arm`)).tags).toContain('v1');
    expect(responseFor(e).json).toEqual(out);
  });

  it('a missing source answers FAILED with a reason, an id that names no image, and tags nothing', async () => {
    const e = event('Create', { Source: `${ecr.registryHost}/source:missing`, Target: 'failed', Tags: ['v1'] });
    const out = await handleCustomResource(e, { session: session() });
    expect(out.Status).toBe('FAILED');
    expect(out.Reason).toMatch(/source:missing|missing/);
    expect(out.Data).toBeUndefined();
    expect(out.PhysicalResourceId).not.toContain('@sha256:');
    expect((await listTags(session(), `${ecr.registryHost}/failed`)).tags).toEqual([]);
    expect(responseFor(e).json).toEqual(out);

    // The rollback's Delete (DeleteImage true) finds no image to delete, and succeeds.
    const rollback = await handleCustomResource(
      event('Delete', { ...e.ResourceProperties, DeleteImage: 'true' }, { PhysicalResourceId: out.PhysicalResourceId }),
      { session: session() },
    );
    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: out.PhysicalResourceId });
  });

  it('an Update that fails keeps the old PhysicalResourceId', async () => {
    const e = event(
      'Update',
      { Source: `${ecr.registryHost}/source:missing`, Target: 'app' },
      { PhysicalResourceId: created.PhysicalResourceId },
    );
    const out = await handleCustomResource(e, { session: session() });
    expect(out).toMatchObject({ Status: 'FAILED', PhysicalResourceId: created.PhysicalResourceId });
  });

  it('bad properties answer FAILED with a reason that names the property and the fix', async () => {
    const noTarget = await handleCustomResource(event('Create', { Source: 'x' }), { session: session() });
    expect(noTarget.Status).toBe('FAILED');
    expect(noTarget.Reason).toContain('Target is required');
    expect(noTarget.Reason).toContain('Fix:');

    const badFlag = await handleCustomResource(
      event('Create', { Source: 'x', Target: 'app', Referrers: 'yes' as 'true' }),
      { session: session() },
    );
    expect(badFlag).toMatchObject({ Status: 'FAILED' });
    expect(badFlag.Reason).toContain("Referrers is 'true' or 'false'");

    const badPlatform = await handleCustomResource(
      event('Create', { Source: `${ecr.registryHost}/source:multi`, Target: 'failed', Platform: 'linux' }),
      { session: session() },
    );
    expect(badPlatform.Status).toBe('FAILED');
    expect(badPlatform.Reason).toContain('platform');
    expect((await listTags(session(), `${ecr.registryHost}/failed`)).tags).toEqual([]);
  });

  it('a copy cancelled midway answers FAILED and writes no tag', async () => {
    const controller = new AbortController();
    const s = session({
      signal: controller.signal,
      onEvent: (ev) => {
        if (ev.type === 'transfer') controller.abort();
      },
    });
    const e = event('Create', { Source: `${ecr.registryHost}/source:multi`, Target: 'aborted', Tags: ['v1'] });
    const out = await handleCustomResource(e, { session: s });
    expect(out.Status).toBe('FAILED');
    expect(out.Reason).toContain('no tag was written');
    expect((await listTags(session(), `${ecr.registryHost}/aborted`)).tags).toEqual([]);
    // The response still goes out although the session's signal is aborted.
    expect(responseFor(e).json).toEqual(out);
  });

  it('retries the response on 5xx; respond: false leaves ResponseURL alone; the logger sees the work and the response', async () => {
    failFirst.push(503, 502);
    const lines: string[] = [];
    const logged: CustomResourceResponse[] = [];
    const logger = { info: (m: string) => lines.push(m), response: (r: CustomResourceResponse) => logged.push(r) };
    const e = event('Delete', { Source: 'x', Target: 'app' }, { PhysicalResourceId: 'kept' });
    const out = await handleCustomResource(e, { session: session(), logger });
    expect(responseFor(e).json).toEqual(out);
    expect(logged).toEqual([out]);
    expect(lines.join('\n')).toContain("DeleteImage is not 'true'");

    const quiet = event('Delete', { Source: 'x', Target: 'app' }, { PhysicalResourceId: 'kept' });
    await handleCustomResource(quiet, { session: session(), respond: false });
    expect(received.filter((r) => r.url.startsWith(new URL(quiet.ResponseURL!).pathname))).toEqual([]);
  });

  it('a ResponseURL that keeps refusing makes the call reject (so that Lambda retries the event)', async () => {
    failFirst.push(403);
    const e = event('Delete', { Source: 'x', Target: 'app' }, { PhysicalResourceId: 'kept' });
    await expect(handleCustomResource(e, { session: session() })).rejects.toThrow(/could not send the response/);
    failFirst.length = 0;
  });
});

describe('handler (the Lambda entry point)', () => {
  it('copies with the credentials and region of the environment, as in Lambda', async () => {
    // What Lambda gives a function: credentials and region in the environment (plus, here,
    // the emulator's endpoint).
    vi.stubEnv('AWS_ENDPOINT_URL', ecr.endpoint);
    vi.stubEnv('AWS_REGION', ecr.region);
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    vi.stubEnv('XDG_CACHE_HOME', path.join(work, 'cache'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const e = event('Create', { Source: `${ecr.registryHost}/source:single`, Target: 'lambda', Tags: ['v1'] });
      const out = await handler(e, { getRemainingTimeInMillis: () => 300_000 });
      expect(out).toMatchObject({
        Status: 'SUCCESS',
        PhysicalResourceId: `${ecr.registryHost}/lambda@${single.manifest.digest}`,
        Data: { ImageDigest: single.manifest.digest },
      });
      expect(await digestAt('lambda:v1')).toBe(single.manifest.digest);
      expect(responseFor(e).json).toEqual(out);
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  it('answers, returns the response, and logs only the response line', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const e = event('Delete', { Source: 'x', Target: 'app' }, { PhysicalResourceId: 'kept' });
      const out = await handler(e, { getRemainingTimeInMillis: () => 60_000, logStreamName: 'stream' });
      expect(out).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'kept', RequestId: e.RequestId });
      expect(responseFor(e).json).toEqual(out);
      expect(log).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(log.mock.calls[0]![0]))).toEqual({ cloudformationResponse: out });
      expect(error).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});

// `ecrctl signing` and referrer copying, end to end: the built CLI against `ecrctl local`
// (signing rules, status of a signed index per platform), `ecrctl copy` carrying the
// signature referrers from one local data plane (us-east-1) to another (eu-west-1) and not
// with --no-referrers, and destinations without a referrers API: Debian's docker-registry
// (distribution 2.8: the referrers tag schema is written) and a loopback proxy in front of
// it that answers 405 (ECR's answer) to the referrers API or to manifests with a subject.
// The AWS CLI on this machine predates the signing API: cross-checks use the SDK.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetSigningConfigurationCommand,
  PutSigningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, ecrClient, pushImage, tinyImage, type TinyImage } from '../local/helpers.js';
import { skopeo, type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/release';
const SIGNATURE = 'application/vnd.cncf.notary.signature';

let t: LocalCliEnv;
let east: { endpoint: string; host: string; auth: string };
let west: { endpoint: string; host: string; auth: string; ecr: ECRClient };
let reg: StartedRegistry;

async function plane(ecr: ECRClient): Promise<{ endpoint: string; host: string; auth: string }> {
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  const endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  return { endpoint, host: new URL(endpoint).host, auth: `Basic ${token.authorizationData?.[0]?.authorizationToken}` };
}

async function referrersOf(
  endpoint: string,
  auth: string | undefined,
  repo: string,
  digest: string,
): Promise<{ digest: string; artifactType?: string }[]> {
  const res = await fetch(`${endpoint}/v2/${repo}/referrers/${digest}`, {
    headers: auth ? { Authorization: auth } : {},
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { manifests: { digest: string; artifactType?: string }[] }).manifests;
}

/** Pushes two platform images by digest and an index over them, tagged. */
async function pushIndex(
  endpoint: string,
  auth: string,
  repo: string,
  tag: string,
  seed: string,
): Promise<{ digest: string; children: TinyImage[] }> {
  const children = [tinyImage(`${seed}-amd64`), tinyImage(`${seed}-arm64`)];
  for (const c of children) expect((await pushImage(endpoint, auth, repo, c, c.manifestDigest)).status).toBe(201);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.manifestDigest,
        size: c.manifest.length,
        platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
      })),
    }),
  );
  const res = await fetch(`${endpoint}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
    body: index,
  });
  expect(res.status).toBe(201);
  return { digest: digestOf(index), children };
}

beforeAll(async () => {
  [t, reg] = await Promise.all([startLocalCliEnv('ecrctl-signing-cli-'), startRegistry()]);
  east = await plane(t.ecr);
  const westEcr = ecrClient(t.server, 'eu-west-1');
  west = { ...(await plane(westEcr)), ecr: westEcr };
  for (const name of ['prod/api', 'prod/multi', 'dev/api'])
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  for (const name of ['prod/api', 'prod/multi', 'plain/api'])
    await westEcr.send(new CreateRepositoryCommand({ repositoryName: name }));
  // The eu-west-1 data plane is a bare loopback host: a login for that region caches its
  // token under the host, as a user's `ecrctl login --region eu-west-1` would.
  const login = await t.cli(['login', '--region', 'eu-west-1', '--password-stdout']);
  expect(login.code, login.stderr).toBe(0);
});

afterAll(async () => {
  await Promise.all([t?.close(), reg?.stop()]);
});

describe('signing config', () => {
  it('sets one rule from options and reads it back (text, json, and the SDK)', async () => {
    let r = await t.cli(['signing', 'config', 'get']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('no signing rules\n');
    r = await t.cli(['signing', 'config', 'set', '--signing-profile-arn', PROFILE, '--filter', 'prod/*']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`rule 1: ${PROFILE}; repositories: prod/*\n`);
    r = await t.cli(['signing', 'config', 'get', '--output', 'json']);
    expect(JSON.parse(r.stdout)).toEqual({
      configured: true,
      rules: [{ signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] }],
    });
    const sdk = await t.ecr.send(new GetSigningConfigurationCommand({}));
    expect(sdk.signingConfiguration?.rules).toEqual([
      { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] },
    ]);
  });

  it('sets rules from a file in the API shape', async () => {
    const file = path.join(t.dir, 'signing.json');
    const rules = [
      { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] },
      {
        signingProfileArn: 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/nightly',
        repositoryFilters: [{ filter: '*-nightly', filterType: 'WILDCARD_MATCH' }],
      },
    ];
    writeFileSync(file, JSON.stringify({ signingConfiguration: { rules } }));
    const r = await t.cli(['signing', 'config', 'set', file, '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rules).toEqual(rules);
    // Back to the one rule the later tests rely on.
    expect(
      (await t.cli(['signing', 'config', 'set', '--signing-profile-arn', PROFILE, '--filter', 'prod/*'])).code,
    ).toBe(0);
  });

  it.each([
    [
      'a profile ARN of another service',
      ['--signing-profile-arn', 'arn:aws:iam::123456789012:role/signer'],
      /is not a signing profile ARN/,
    ],
    [
      'an uppercase filter',
      ['--signing-profile-arn', PROFILE, '--filter', 'Prod/*'],
      /filter "Prod\/\*" is not a repository name pattern/,
    ],
    [
      'a filter over 256 characters',
      ['--signing-profile-arn', PROFILE, '--filter', `${'a'.repeat(257)}`],
      /must be 1–256 characters/,
    ],
  ])('refuses %s locally with exit 3, sending nothing', async (_what, args, message) => {
    const before = t.server.calls.filter((c) => c === 'ecr:PutSigningConfiguration').length;
    const r = await t.cli(['signing', 'config', 'set', ...args]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(t.server.calls.filter((c) => c === 'ecr:PutSigningConfiguration').length).toBe(before);
  });

  it('refuses 11 rules and names every problem', async () => {
    const file = path.join(t.dir, 'eleven.json');
    const rules = Array.from({ length: 11 }, () => ({ signingProfileArn: PROFILE }));
    rules[3] = { signingProfileArn: 'nope' };
    writeFileSync(file, JSON.stringify({ rules }));
    const r = await t.cli(['signing', 'config', 'set', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('breaks 2 rules; nothing was changed');
    expect(r.stderr).toContain('11 rules: a signing configuration has at most 10');
    expect(r.stderr).toContain('rule 4: "nope" is not a signing profile ARN');
  });
});

describe('signing status', () => {
  it('shows each platform of a signed index as COMPLETE (json and env)', async () => {
    const pushed = await pushIndex(east.endpoint, east.auth, 'prod/multi', 'v1', 'status');
    const r = await t.cli(['signing', 'status', 'prod/multi:v1', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      digest: string;
      status: string;
      images: {
        digest: string;
        kind: string;
        platform?: string;
        statuses: { status: string; signingProfileArn: string }[];
      }[];
    };
    expect(doc.digest).toBe(pushed.digest);
    expect(doc.status).toBe('COMPLETE');
    expect(
      doc.images.map((i) => [
        i.kind,
        i.platform ?? '-',
        i.digest,
        i.statuses.map((s) => `${s.signingProfileArn} ${s.status}`).join(),
      ]),
    ).toEqual([
      ['index', '-', pushed.digest, `${PROFILE} COMPLETE`],
      ['image', 'linux/amd64', pushed.children[0]?.manifestDigest, `${PROFILE} COMPLETE`],
      ['image', 'linux/arm64', pushed.children[1]?.manifestDigest, `${PROFILE} COMPLETE`],
    ]);
    const env = await t.cli(['signing', 'status', `prod/multi@${pushed.digest}`, '--output', 'env']);
    expect(env.stdout).toBe(`IMAGE_DIGEST=${pushed.digest}\nSIGNING_STATUS=COMPLETE\n`);
    const text = await t.cli(['signing', 'status', 'prod/multi:v1']);
    expect(text.stdout).toMatch(/linux\/arm64\s+sha256:\S+\s+arn:aws:signer:\S+\s+COMPLETE/);
  });

  it('says NOT SIGNED for a repository no rule covers; --require-signed exits 1', async () => {
    const image = tinyImage('dev-unsigned');
    expect((await pushImage(east.endpoint, east.auth, 'dev/api', image, 'v1')).status).toBe(201);
    const r = await t.cli(['signing', 'status', 'dev/api:v1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/image\s+sha256:\S+\s+-\s+NOT SIGNED/);
    const strict = await t.cli(['signing', 'status', 'dev/api:v1', '--require-signed']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('is not signed (status NONE)');
  });

  it('exits 6 for an image that does not exist', async () => {
    const r = await t.cli(['signing', 'status', 'prod/api:nope']);
    expect(r.code).toBe(6);
  });
});

describe('copy carries referrers', () => {
  let image: TinyImage;
  let signature: string;

  beforeAll(async () => {
    await t.ecr.send(
      new PutSigningConfigurationCommand({
        signingConfiguration: {
          rules: [
            { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' }] },
          ],
        },
      }),
    );
    image = tinyImage('copy-signed');
    expect((await pushImage(east.endpoint, east.auth, 'prod/api', image, 'v1')).status).toBe(201);
    const refs = await referrersOf(east.endpoint, east.auth, 'prod/api', image.manifestDigest);
    expect(refs.map((r) => r.artifactType)).toEqual([SIGNATURE]);
    signature = refs[0]?.digest as string;
  });

  it('copies the signature to another region: the destination lists it with the same digest', async () => {
    const r = await t.cli(['copy', `${east.host}/prod/api:v1`, `${west.host}/prod/api:v1`, '--output', 'json']);
    expect(r.stderr).not.toContain('refused');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      digest: string;
      referrers: { copied: number; referrers: { digest: string; status: string; via: string }[] };
    };
    expect(doc.digest).toBe(image.manifestDigest);
    expect(doc.referrers.referrers).toEqual([
      expect.objectContaining({ digest: signature, status: 'copied', via: 'referrers-api' }),
    ]);
    const listed = await referrersOf(west.endpoint, west.auth, 'prod/api', image.manifestDigest);
    expect(listed).toEqual([expect.objectContaining({ digest: signature, artifactType: SIGNATURE })]);
  });

  it('copies the referrers of every platform of an index', async () => {
    const pushed = await pushIndex(east.endpoint, east.auth, 'prod/multi', 'v2', 'copy-index');
    const r = await t.cli(['copy', `${east.host}/prod/multi:v2`, `${west.host}/prod/multi:v2`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('referrers: 3 referrers copied');
    for (const digest of [pushed.digest, ...pushed.children.map((c) => c.manifestDigest)]) {
      const source = await referrersOf(east.endpoint, east.auth, 'prod/multi', digest);
      const copied = await referrersOf(west.endpoint, west.auth, 'prod/multi', digest);
      expect(copied.map((d) => d.digest)).toEqual(source.map((d) => d.digest));
      expect(copied).toHaveLength(1);
    }
  });

  it('replicate copy carries the signature too; --no-referrers does not', async () => {
    const r = await t.cli([
      'replicate',
      'copy',
      'prod/api:v1',
      '--to',
      'us-west-2',
      '--create-repo',
      '--output',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { destinations: { status: string; referrers: { copied: number } }[] };
    expect(doc.destinations).toEqual([
      expect.objectContaining({ status: 'copied', referrers: expect.objectContaining({ copied: 1 }) }),
    ]);
    const usw2 = await plane(ecrClient(t.server, 'us-west-2'));
    expect(
      (await referrersOf(usw2.endpoint, usw2.auth, 'prod/api', image.manifestDigest)).map((d) => d.digest),
    ).toEqual([signature]);
    const skip = await t.cli([
      'replicate',
      'copy',
      'prod/api:v1',
      '--to',
      'ap-south-1',
      '--create-repo',
      '--no-referrers',
    ]);
    expect(skip.code, skip.stderr).toBe(0);
    const aps1 = await plane(ecrClient(t.server, 'ap-south-1'));
    expect(await referrersOf(aps1.endpoint, aps1.auth, 'prod/api', image.manifestDigest)).toEqual([]);
  });

  it('leaves referrers behind with --no-referrers', async () => {
    const r = await t.cli(['copy', `${east.host}/prod/api:v1`, `${west.host}/plain/api:v1`, '--no-referrers']);
    expect(r.code, r.stderr).toBe(0);
    expect(await referrersOf(west.endpoint, west.auth, 'plain/api', image.manifestDigest)).toEqual([]);
    expect(
      (
        await fetch(`${west.endpoint}/v2/plain/api/manifests/v1`, {
          method: 'HEAD',
          headers: { Authorization: west.auth },
        })
      ).status,
    ).toBe(200);
  });

  it('writes the sha256-<hex> tag schema on a registry without the referrers API (docker-registry 2.8), and says so', async () => {
    // distribution 2.8 has no referrers API: the route answers 404.
    expect((await fetch(`${reg.url}/v2/mirror/api/referrers/${image.manifestDigest}`)).status).toBe(404);
    const r = await t.cli(['copy', `${east.host}/prod/api:v1`, `${reg.host}/mirror/api:v1`, '--output', 'json'], {
      env: { DOCKER_CONFIG: path.join(t.dir, 'none') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`listed through the tag schema (${image.manifestDigest.replace(':', '-')})`);
    const doc = JSON.parse(r.stdout) as {
      referrers: { tagSchemaSubjects: string[]; referrers: { digest: string; via: string }[] };
    };
    expect(doc.referrers.referrers).toEqual([expect.objectContaining({ digest: signature, via: 'tag-schema' })]);
    const tagIndex = await fetch(`${reg.url}/v2/mirror/api/manifests/${image.manifestDigest.replace(':', '-')}`, {
      headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
    });
    expect(tagIndex.status).toBe(200);
    expect(((await tagIndex.json()) as { manifests: { digest: string; artifactType?: string }[] }).manifests).toEqual([
      expect.objectContaining({ digest: signature, artifactType: SIGNATURE }),
    ]);
    const stored = await fetch(`${reg.url}/v2/mirror/api/manifests/${signature}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(stored.status).toBe(200);
    expect(digestOf(Buffer.from(await stored.arrayBuffer()))).toBe(signature);

    // Copying again finds it through the tag: present, nothing duplicated.
    const again = await t.cli(['copy', `${east.host}/prod/api:v1`, `${reg.host}/mirror/api:v1`, '--output', 'json'], {
      env: { DOCKER_CONFIG: path.join(t.dir, 'none') },
    });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).referrers.referrers).toEqual([
      expect.objectContaining({ digest: signature, status: 'present', via: 'tag-schema' }),
    ]);
  });

  it('falls back to the tag schema when the referrers API answers 405, and says so', async () => {
    const proxy = await startProxy(reg.url, { referrersApi405: true });
    try {
      const r = await t.cli(['copy', `${east.host}/prod/api:v1`, `${proxy.host}/proxied/api:v1`], {
        env: { DOCKER_CONFIG: path.join(t.dir, 'none') },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('answered 405 to the referrers API: falling back to the tag schema');
      expect(proxy.seen).toContain(`PUT /v2/proxied/api/manifests/${image.manifestDigest.replace(':', '-')}`);
      const tagIndex = await fetch(`${reg.url}/v2/proxied/api/manifests/${image.manifestDigest.replace(':', '-')}`, {
        headers: { Accept: 'application/vnd.oci.image.index.v1+json' },
      });
      expect(((await tagIndex.json()) as { manifests: { digest: string }[] }).manifests.map((d) => d.digest)).toEqual([
        signature,
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('reports referrers the destination refuses (405 to manifests with a subject) and exits 1, image copied', async () => {
    const proxy = await startProxy(reg.url, { subjectPut405: true });
    try {
      const r = await t.cli(['copy', `${east.host}/prod/api:v1`, `${proxy.host}/refusing/api:v1`, '--output', 'json'], {
        env: { DOCKER_CONFIG: path.join(t.dir, 'none') },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`refused 1 of its referrer`);
      expect(r.stderr).toContain(`${signature} (${SIGNATURE})`);
      expect(r.stderr).toContain('405');
      const doc = JSON.parse(r.stdout) as { digest: string; referrers: { refused: number } };
      expect(doc.digest).toBe(image.manifestDigest);
      expect(doc.referrers.refused).toBe(1);
      expect(
        (
          await fetch(`${reg.url}/v2/refusing/api/manifests/v1`, {
            method: 'HEAD',
            headers: { Accept: image.mediaType },
          })
        ).status,
      ).toBe(200);
      // --no-referrers copies the image alone and succeeds.
      const skip = await t.cli(
        ['copy', `${east.host}/prod/api:v1`, `${proxy.host}/refusing/api:v1`, '--no-referrers'],
        { env: { DOCKER_CONFIG: path.join(t.dir, 'none') } },
      );
      expect(skip.code).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it('pull into an OCI layout brings the signature along, listed in index.json; --no-referrers does not', async () => {
    const out = path.join(t.dir, 'signed-layout');
    const r = await t.cli(['pull', `${east.host}/prod/api:v1`, `oci:${out}`, '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      digest: string;
      referrers: { copied: number; referrers: { digest: string; status: string }[] };
    };
    expect(doc.digest).toBe(image.manifestDigest);
    expect(doc.referrers.referrers).toEqual([expect.objectContaining({ digest: signature, status: 'copied' })]);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    expect(index.manifests.map((d) => [d.digest, d.annotations?.['org.opencontainers.image.ref.name']])).toEqual([
      [image.manifestDigest, 'v1'],
      [signature, undefined],
    ]);
    const blobs = path.join(out, 'blobs', 'sha256');
    for (const hex of readdirSync(blobs)) expect(digestOf(readFileSync(path.join(blobs, hex)))).toBe(`sha256:${hex}`);
    const stored = JSON.parse(readFileSync(path.join(blobs, signature.slice(7)), 'utf8')) as {
      subject?: { digest: string };
      artifactType?: string;
    };
    expect(stored.subject?.digest).toBe(image.manifestDigest);
    // skopeo, an independent reader, still finds the image by its tag in that layout.
    const raw = await skopeo(['inspect', '--raw', `oci:${out}:v1`]);
    expect(digestOf(Buffer.from(raw.stdout))).toBe(image.manifestDigest);

    const plain = path.join(t.dir, 'plain-layout');
    const skip = await t.cli(['pull', `${east.host}/prod/api:v1`, `oci:${plain}`, '--no-referrers']);
    expect(skip.code, skip.stderr).toBe(0);
    const plainIndex = JSON.parse(readFileSync(path.join(plain, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(plainIndex.manifests.map((d) => d.digest)).toEqual([image.manifestDigest]);
    expect(existsSync(path.join(plain, 'blobs', 'sha256', signature.slice(7)))).toBe(false);
  });

  it('tag-push of that layout carries the signature to another registry, which lists it', async () => {
    const out = path.join(t.dir, 'signed-layout');
    await west.ecr.send(new CreateRepositoryCommand({ repositoryName: 'layout/api' }));
    // A loopback data plane does not name its region: tag-push's repository check needs it,
    // and says so when it asked the wrong one.
    const wrong = await t.cli(['tag-push', `oci:${out}:v1`, `${west.host}/layout/api:v1`]);
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toContain(`repository layout/api does not exist in ${west.host} (region us-east-1)`);
    expect(wrong.stderr).toContain(
      `if ${west.host} is the data plane of another region, pass --region with that region`,
    );
    const r = await t.cli([
      'tag-push',
      `oci:${out}:v1`,
      `${west.host}/layout/api:v1`,
      '--region',
      'eu-west-1',
      '--output',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { referrers: { copied: number } }).referrers.copied).toBe(1);
    expect(await referrersOf(west.endpoint, west.auth, 'layout/api', image.manifestDigest)).toEqual([
      expect.objectContaining({ digest: signature, artifactType: SIGNATURE }),
    ]);
    // Pushed again: the signature is found present, nothing is written twice.
    const again = await t.cli([
      'tag-push',
      `oci:${out}:v1`,
      `${west.host}/layout/api:v1`,
      '--region',
      'eu-west-1',
      '--output',
      'json',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(
      (JSON.parse(again.stdout) as { referrers: { referrers: { status: string }[] } }).referrers.referrers,
    ).toEqual([expect.objectContaining({ status: 'present' })]);
  });

  it('a pull into a docker-archive leaves the referrers behind (it cannot hold them)', async () => {
    const file = path.join(t.dir, 'signed.tar');
    const r = await t.cli([
      'pull',
      `${east.host}/prod/api:v1`,
      `docker-archive:${file}`,
      '--output',
      'json',
      '--verbose',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).referrers).toBeUndefined();
    expect(r.stderr).toContain('a docker-archive cannot hold referrers');
  });
});

/** A loopback proxy in front of a registry that answers 405 as ECR has: to the referrers API, or to manifest PUTs with a subject. */
async function startProxy(
  upstream: string,
  mode: { referrersApi405?: boolean; subjectPut405?: boolean },
): Promise<{ host: string; seen: string[]; stop(): Promise<void> }> {
  const seen: string[] = [];
  const refuse = (res: http.ServerResponse) => {
    res.writeHead(405, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message: 'Method Not Allowed' }] }));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push(`${req.method} ${req.url}`);
      if (mode.referrersApi405 && /\/referrers\//.test(req.url ?? '')) return refuse(res);
      if (mode.subjectPut405 && req.method === 'PUT' && /\/manifests\//.test(req.url ?? '')) {
        try {
          if ((JSON.parse(body.toString('utf8')) as { subject?: unknown }).subject) return refuse(res);
        } catch {
          // not JSON: let the registry answer
        }
      }
      const target = new URL(req.url ?? '/', upstream);
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const out = http.request(target, { method: req.method, headers }, (up) => {
        const location = up.headers.location;
        if (location)
          up.headers.location = location.replace(
            upstream,
            `http://${(server.address() as AddressInfo).address}:${(server.address() as AddressInfo).port}`,
          );
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// Managed signing in `ecrctl local`: the signing configuration API (round trip, the model's
// limits with ECR's exception names), signing on push (a Notary signature referrer whose JWS
// verifies with the server's key and carries an x5c chain up to `<data>/signing/root.pem`),
// and DescribeImageSigningStatus derived from it.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import {
  CreateRepositoryCommand,
  DeleteSigningConfigurationCommand,
  DescribeImageSigningStatusCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetSigningConfigurationCommand,
  PutSigningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { basicAuth, digestOf, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/release_profile';
const OTHER_PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/nightly';

let tmp: { dir: string; remove: () => void };
let server: LocalServer;
let ecr: ECRClient;
let endpoint: string;
let auth: string;

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  tmp = tempDir('ecrctl-signing-');
  server = await start(path.join(tmp.dir, 'data'));
  ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  auth = basicAuth(token.authorizationData?.[0]?.authorizationToken as string);
  for (const name of ['prod/api', 'prod/web', 'dev/api', 'multi/app'])
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
});

afterAll(async () => {
  await server.close();
  tmp.remove();
});

describe('signing configuration', () => {
  it('answers SigningConfigurationNotFoundException before one is set', async () => {
    const err = await errorOf(ecr.send(new GetSigningConfigurationCommand({})));
    expect(err.name).toBe('SigningConfigurationNotFoundException');
  });

  it('round-trips rules and deletes them', async () => {
    const rules = [
      { signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod/*', filterType: 'WILDCARD_MATCH' as const }] },
      {
        signingProfileArn: OTHER_PROFILE,
        repositoryFilters: [{ filter: '*web', filterType: 'WILDCARD_MATCH' as const }],
      },
    ];
    const put = await ecr.send(new PutSigningConfigurationCommand({ signingConfiguration: { rules } }));
    expect(put.signingConfiguration?.rules).toEqual(rules);
    const got = await ecr.send(new GetSigningConfigurationCommand({}));
    expect(got.registryId).toBe(server.account);
    expect(got.signingConfiguration?.rules).toEqual(rules);
    const deleted = await ecr.send(new DeleteSigningConfigurationCommand({}));
    expect(deleted.signingConfiguration?.rules).toEqual(rules);
    expect((await errorOf(ecr.send(new DeleteSigningConfigurationCommand({})))).name).toBe(
      'SigningConfigurationNotFoundException',
    );
  });

  it.each([
    ['11 rules', Array.from({ length: 11 }, () => ({ signingProfileArn: PROFILE })), /rules.*less than or equal to 10/],
    [
      'a profile ARN of another service',
      [{ signingProfileArn: 'arn:aws:iam::123456789012:role/x' }],
      /signingProfileArn.*regular expression/,
    ],
    [
      'an empty filter list',
      [{ signingProfileArn: PROFILE, repositoryFilters: [] }],
      /repositoryFilters.*greater than or equal to 1/,
    ],
    [
      '101 filters',
      [
        {
          signingProfileArn: PROFILE,
          repositoryFilters: Array.from({ length: 101 }, (_, i) => ({ filter: `r${i}`, filterType: 'WILDCARD_MATCH' })),
        },
      ],
      /less than or equal to 100/,
    ],
    [
      'an uppercase filter',
      [{ signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'Prod/*', filterType: 'WILDCARD_MATCH' }] }],
      /filter.*regular expression/,
    ],
    [
      'a PREFIX_MATCH filter',
      [{ signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }] }],
      /WILDCARD_MATCH/,
    ],
  ])('refuses %s with InvalidParameterException', async (_what, rules, message) => {
    const err = await errorOf(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input the SDK types forbid
      ecr.send(new PutSigningConfigurationCommand({ signingConfiguration: { rules: rules as any } })),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toMatch(message);
  });
});

interface Jws {
  payload: string;
  protected: string;
  header: { x5c: string[] };
  signature: string;
}

describe('signing on push', () => {
  beforeAll(async () => {
    await ecr.send(
      new PutSigningConfigurationCommand({
        signingConfiguration: {
          rules: [
            {
              signingProfileArn: PROFILE,
              repositoryFilters: [
                { filter: 'prod/*', filterType: 'WILDCARD_MATCH' },
                { filter: 'multi/*', filterType: 'WILDCARD_MATCH' },
              ],
            },
          ],
        },
      }),
    );
  });

  it('attaches a Notary signature whose JWS verifies with the server key, and reports COMPLETE', async () => {
    // The root is there as soon as signing is configured: a trust store can be built before a push.
    expect(new X509Certificate(readFileSync(path.join(tmp.dir, 'data', 'signing', 'root.pem'))).ca).toBe(true);
    const image = tinyImage('signed-api');
    expect((await pushImage(endpoint, auth, 'prod/api', image, 'v1')).status).toBe(201);

    const status = await ecr.send(
      new DescribeImageSigningStatusCommand({ repositoryName: 'prod/api', imageId: { imageTag: 'v1' } }),
    );
    expect(status.imageId?.imageDigest).toBe(image.manifestDigest);
    expect(status.signingStatuses).toEqual([{ signingProfileArn: PROFILE, status: 'COMPLETE' }]);

    const res = await fetch(`${endpoint}/v2/prod/api/referrers/${image.manifestDigest}`, {
      headers: { Authorization: auth },
    });
    const index = (await res.json()) as { manifests: { digest: string; artifactType?: string }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.artifactType).toBe('application/vnd.cncf.notary.signature');

    const sigManifest = (await (
      await fetch(`${endpoint}/v2/prod/api/manifests/${index.manifests[0]?.digest}`, {
        headers: { Authorization: auth },
      })
    ).json()) as {
      subject: { digest: string; size: number };
      layers: { mediaType: string; digest: string }[];
      annotations: Record<string, string>;
    };
    expect(sigManifest.subject).toMatchObject({ digest: image.manifestDigest, size: image.manifest.length });
    expect(sigManifest.layers[0]?.mediaType).toBe('application/jose+json');

    const envelope = Buffer.from(
      await (
        await fetch(`${endpoint}/v2/prod/api/blobs/${sigManifest.layers[0]?.digest}`, {
          headers: { Authorization: auth },
        })
      ).arrayBuffer(),
    );
    expect(digestOf(envelope)).toBe(sigManifest.layers[0]?.digest);
    const jws = JSON.parse(envelope.toString('utf8')) as Jws;
    const headers = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(headers).toMatchObject({
      alg: 'ES384',
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'com.amazonaws.signer.signingProfileVersion': expect.stringMatching(new RegExp(`^${PROFILE}/[0-9a-f]{10}$`)),
    });
    expect(headers.crit).toContain('io.cncf.notary.authenticSigningTime');
    // The chain: the leaf (the server's signing key) issued by the root kept in the data directory.
    const [leaf, root] = jws.header.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    const rootPem = new X509Certificate(readFileSync(path.join(tmp.dir, 'data', 'signing', 'root.pem')));
    expect(root?.raw.equals(rootPem.raw)).toBe(true);
    expect(leaf?.checkIssued(rootPem) && leaf.verify(rootPem.publicKey)).toBe(true);
    expect(leaf?.ca).toBe(false);
    expect(leaf?.publicKey.export({ type: 'spki', format: 'pem' })).toBe(server.signingPublicKeyPem);
    expect(JSON.parse(sigManifest.annotations['io.cncf.notary.x509chain.thumbprint#S256'] as string)).toEqual(
      [leaf, root].map((c) => createHash('sha256').update(c!.raw).digest('hex')),
    );
    const ok = verify(
      'sha384',
      Buffer.from(`${jws.protected}.${jws.payload}`),
      { key: createPublicKey(server.signingPublicKeyPem), dsaEncoding: 'ieee-p1363' },
      Buffer.from(jws.signature, 'base64url'),
    );
    expect(ok).toBe(true);
    const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as {
      targetArtifact: { digest: string };
    };
    expect(payload.targetArtifact.digest).toBe(image.manifestDigest);
    // A tampered payload does not verify.
    const forged = Buffer.from(JSON.stringify({ targetArtifact: { digest: digestOf('other') } })).toString('base64url');
    expect(
      verify(
        'sha384',
        Buffer.from(`${jws.protected}.${forged}`),
        { key: createPublicKey(server.signingPublicKeyPem), dsaEncoding: 'ieee-p1363' },
        Buffer.from(jws.signature, 'base64url'),
      ),
    ).toBe(false);
  });

  it('keeps the private keys 0600 beside the certificates in the data directory', () => {
    const dir = path.join(tmp.dir, 'data', 'signing');
    expect(statSync(path.join(dir, 'root-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'leaf-key.pem')).mode & 0o777).toBe(0o600);
    const root = new X509Certificate(readFileSync(path.join(dir, 'root.pem')));
    expect(root.ca).toBe(true);
    expect(root.checkIssued(root) && root.verify(root.publicKey)).toBe(true);
  });

  it('leaves repositories no rule covers unsigned', async () => {
    const image = tinyImage('unsigned-dev');
    expect((await pushImage(endpoint, auth, 'dev/api', image, 'v1')).status).toBe(201);
    const status = await ecr.send(
      new DescribeImageSigningStatusCommand({
        repositoryName: 'dev/api',
        imageId: { imageDigest: image.manifestDigest },
      }),
    );
    expect(status.signingStatuses).toEqual([]);
    const index = (await (
      await fetch(`${endpoint}/v2/dev/api/referrers/${image.manifestDigest}`, { headers: { Authorization: auth } })
    ).json()) as { manifests: unknown[] };
    expect(index.manifests).toEqual([]);
  });

  it('reports FAILED once the signature is deleted', async () => {
    const image = tinyImage('deleted-signature');
    expect((await pushImage(endpoint, auth, 'prod/web', image, 'v1')).status).toBe(201);
    const index = (await (
      await fetch(`${endpoint}/v2/prod/web/referrers/${image.manifestDigest}`, { headers: { Authorization: auth } })
    ).json()) as { manifests: { digest: string }[] };
    const del = await fetch(`${endpoint}/v2/prod/web/manifests/${index.manifests[0]?.digest}`, {
      method: 'DELETE',
      headers: { Authorization: auth },
    });
    expect(del.status).toBe(202);
    const status = await ecr.send(
      new DescribeImageSigningStatusCommand({ repositoryName: 'prod/web', imageId: { imageTag: 'v1' } }),
    );
    expect(status.signingStatuses).toEqual([
      expect.objectContaining({ signingProfileArn: PROFILE, status: 'FAILED', failureCode: 'SIGNATURE_NOT_FOUND' }),
    ]);
  });

  it('answers ImageNotFoundException for an unknown image', async () => {
    const err = await errorOf(
      ecr.send(new DescribeImageSigningStatusCommand({ repositoryName: 'prod/api', imageId: { imageTag: 'nope' } })),
    );
    expect(err.name).toBe('ImageNotFoundException');
  });
});

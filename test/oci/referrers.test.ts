// copyReferrers against real registries on loopback: `ecrctl local`'s data plane (OCI 1.1
// referrers API) as source and target, and Debian's docker-registry (distribution 2.8, no
// referrers API) as a target that needs the sha256-<hex> tag schema. A chain of referrers
// (SBOM → signature on the SBOM → attestation on the signature → one more) shows the depth
// limit; digests at the destination are the source's.
import path from 'node:path';
import { CreateRepositoryCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { copyImage } from '../../src/oci/copy.js';
import { copyReferrers, referrersTag } from '../../src/oci/referrers.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { digestOf, ecrClient, pushImage, start, tempDir, tinyImage } from '../local/helpers.js';

let tmp: { dir: string; remove: () => void };
let server: LocalServer;
let reg: StartedRegistry;
let host: string;
let endpoint: string;
let auth: string;
let client: RegistryClient;

interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
}

/** Pushes an artifact (empty config, one layer) whose subject is `subject`. */
async function pushReferrer(repo: string, subject: Pushed, artifactType: string, text: string): Promise<Pushed> {
  const layer = Buffer.from(text);
  for (const blob of [Buffer.from('{}'), layer]) {
    const res = await fetch(`${endpoint}/v2/${repo}/blobs/uploads/?digest=${digestOf(blob)}`, {
      method: 'POST',
      headers: { Authorization: auth },
      body: blob,
    });
    expect(res.status).toBe(201);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf('{}'), size: 2 },
      layers: [{ mediaType: 'text/plain', digest: digestOf(layer), size: layer.length }],
      subject,
    }),
  );
  const digest = digestOf(manifest);
  const res = await fetch(`${endpoint}/v2/${repo}/manifests/${digest}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  expect(res.status).toBe(201);
  expect(res.headers.get('oci-subject')).toBe(subject.digest);
  return { digest, size: manifest.length, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
}

let image: Pushed;
let chain: Pushed[];

beforeAll(async () => {
  tmp = tempDir('ecrctl-referrers-');
  [server, reg] = await Promise.all([start(path.join(tmp.dir, 'data')), startRegistry()]);
  const ecr = ecrClient(server);
  for (const name of ['src/app', 'dst/app', 'dst/shallow'])
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  host = new URL(endpoint).host;
  auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
  const [user, password] = Buffer.from(token.authorizationData?.[0]?.authorizationToken as string, 'base64')
    .toString('utf8')
    .split(':') as [string, string];
  client = new RegistryClient({
    credentials: { get: async (h) => (h === host ? { username: user, password } : undefined) },
  });

  const tiny = tinyImage('referrers-chain');
  expect((await pushImage(endpoint, auth, 'src/app', tiny, 'v1')).status).toBe(201);
  image = { digest: tiny.manifestDigest, size: tiny.manifest.length, mediaType: tiny.mediaType };
  const sbom = await pushReferrer('src/app', image, 'application/spdx+json', 'sbom');
  const sig = await pushReferrer('src/app', sbom, 'application/vnd.cncf.notary.signature', 'signature of the sbom');
  const att = await pushReferrer('src/app', sig, 'application/vnd.in-toto+json', 'attestation of the signature');
  const deep = await pushReferrer('src/app', att, 'text/plain', 'four levels down');
  chain = [sbom, sig, att, deep];
});

afterAll(async () => {
  await client?.close();
  await Promise.all([server?.close(), reg?.stop()]);
  tmp?.remove();
});

describe('copyReferrers', () => {
  it('follows referrers of referrers up to the depth limit, keeping digests', async () => {
    const source = client.repository(host, 'src/app');
    const target = client.repository(host, 'dst/app');
    await copyImage(source, 'v1', target, { tags: ['v1'] });
    const report = await copyReferrers(source, target, image.digest, { maxDepth: 3 });
    expect(report.referrers.map((r) => [r.digest, r.depth, r.status, r.via])).toEqual([
      [chain[0]?.digest, 1, 'copied', 'referrers-api'],
      [chain[1]?.digest, 2, 'copied', 'referrers-api'],
      [chain[2]?.digest, 3, 'copied', 'referrers-api'],
    ]);
    expect(report.beyondDepth).toBe(1);
    expect(report.tagSchemaSubjects).toEqual([]);
    for (let i = 0; i < 3; i++) {
      const subject = i === 0 ? image : (chain[i - 1] as Pushed);
      expect((await target.listReferrers(subject.digest)).map((d) => d.digest)).toEqual([chain[i]?.digest]);
    }
    expect(await target.listReferrers(chain[2]?.digest as string)).toEqual([]);

    // A second run finds them all present.
    const again = await copyReferrers(source, target, image.digest, { maxDepth: 3 });
    expect(again.referrers.map((r) => r.status)).toEqual(['present', 'present', 'present']);
  });

  it("maxDepth 1 carries only the image's own referrers", async () => {
    const source = client.repository(host, 'src/app');
    const target = client.repository(host, 'dst/shallow');
    await copyImage(source, 'v1', target, { tags: ['v1'] });
    const report = await copyReferrers(source, target, image.digest, { maxDepth: 1 });
    expect(report.referrers.map((r) => r.digest)).toEqual([chain[0]?.digest]);
    expect(report.beyondDepth).toBe(1);
  });

  it('writes one sha256-<hex> tag index per subject on a registry without the referrers API', async () => {
    const source = client.repository(host, 'src/app');
    const target = client.repository(reg.host, 'mirror/app');
    await copyImage(source, 'v1', target, { tags: ['v1'] });
    const logs: string[] = [];
    const report = await copyReferrers(source, target, image.digest, { maxDepth: 4, log: (m) => logs.push(m) });
    expect(report.copied).toBe(4);
    expect(report.tagSchemaSubjects).toEqual([image.digest, ...chain.slice(0, 3).map((c) => c.digest)]);
    expect(report.referrers.every((r) => r.via === 'tag-schema')).toBe(true);
    for (let i = 0; i < 4; i++) {
      const subject = i === 0 ? image : (chain[i - 1] as Pushed);
      const tagged = await target.getManifest(referrersTag(subject.digest));
      expect(
        (JSON.parse(tagged.bytes.toString('utf8')) as { manifests: { digest: string }[] }).manifests.map(
          (d) => d.digest,
        ),
      ).toEqual([chain[i]?.digest]);
      // listReferrers reads the tag on a registry without the API: the chain is discoverable.
      expect((await target.listReferrers(subject.digest)).map((d) => d.digest)).toEqual([chain[i]?.digest]);
    }
    expect(logs.some((l) => l.includes('writing the tag'))).toBe(true);
  });
});

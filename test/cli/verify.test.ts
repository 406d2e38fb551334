// `ecrctl verify` and the --require-signed gate against `ecrctl local` with managed signing
// on: an image pushed to a covered repository verifies against a trust store made of
// `<data>/signing/root.pem`; a flipped byte in the envelope, another trust store, an expired
// certificate (a test CA), a signature of another digest and another signing profile each
// exit 3 naming the check; a COSE envelope built here verifies and a tampered one does not;
// promote, pull and tag-push refuse an unsigned image before anything moves.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  GetAuthorizationTokenCommand,
  PutSigningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJws } from '../../src/oci/notary/jws.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { pushImage, type TinyImage, tinyImage } from '../local/helpers.js';
import { attachSignature, coseEnvelope, issueLeaf, makeCa, type Subject, type TestCa } from '../oci/notary-fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/release';
const OTHER_PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/nightly';
const DAY = 24 * 3600 * 1000;

let env: RepoTestEnv;
let endpoint: string;
let auth: string;
let rootPem: string;
let work: string;
let testCa: TestCa;
let testCaPem: string;
let reg: StartedRegistry;

const subjectOf = (img: TinyImage): Subject => ({
  mediaType: img.mediaType,
  digest: img.manifestDigest,
  size: img.manifest.length,
});

async function get(p: string): Promise<Response> {
  return fetch(`${endpoint}/v2/${p}`, { headers: { Authorization: auth } });
}

/** The emulator's signature of an image: manifest digest and envelope bytes. */
async function managedSignature(repo: string, digest: string): Promise<{ digest: string; envelope: Buffer }> {
  const index = (await (await get(`${repo}/referrers/${digest}`)).json()) as { manifests: { digest: string }[] };
  expect(index.manifests).toHaveLength(1);
  const sig = index.manifests[0]!.digest;
  const m = (await (await get(`${repo}/manifests/${sig}`)).json()) as { layers: { digest: string }[] };
  const envelope = Buffer.from(await (await get(`${repo}/blobs/${m.layers[0]!.digest}`)).arrayBuffer());
  return { digest: sig, envelope };
}

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

beforeAll(async () => {
  [env, reg] = await Promise.all([startRepoEnv(), startRegistry()]);
  const token = await env.ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
  await env.ecr.send(
    new PutSigningConfigurationCommand({
      signingConfiguration: {
        rules: [{ signingProfileArn: PROFILE, repositoryFilters: [{ filter: 'sig/*', filterType: 'WILDCARD_MATCH' }] }],
      },
    }),
  );
  for (const name of ['sig/app', 'plain/app'])
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  work = path.join(env.dir, 'work');
  mkdirSync(work);
  rootPem = path.join(env.dir, 'data', 'signing', 'root.pem');
  testCa = await makeCa('ecrctl test root');
  testCaPem = path.join(work, 'test-ca.pem');
  writeFileSync(testCaPem, testCa.pem);
});

afterAll(async () => {
  await Promise.all([env?.close(), reg?.stop()]);
});

/** A loopback proxy in front of upstream that answers 405 to the referrers API (as ECR has). */
async function referrers405Proxy(upstream: string): Promise<{ host: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (/\/referrers\//.test(req.url ?? '')) {
      res.writeHead(405, { 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNSUPPORTED","message":"Method Not Allowed"}]}');
      return;
    }
    const target = new URL(req.url ?? '/', upstream);
    const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('verify (managed signing, JWS)', () => {
  let img: TinyImage;
  beforeAll(async () => {
    img = tinyImage('verify-signed');
    expect((await pushImage(endpoint, auth, 'sig/app', img, 'v1')).status).toBe(201);
  });

  it('verifies a pushed image against a trust store built from <data>/signing/root.pem', async () => {
    expect(existsSync(rootPem)).toBe(true);
    const r = await env.cli(['verify', 'sig/app:v1', '--trust-store', rootPem], { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^verified: .*/sig/app:v1 \\(${img.manifestDigest}\\)\\n`));
    expect(r.stdout).toContain('JWS ES384 notary.x509.signingAuthority');
    expect(r.stdout).toContain(`(${PROFILE}): verified`);

    const j = await env.cli(['verify', 'sig/app:v1', '--trust-store', rootPem, '-o', 'json'], { cwd: work });
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout);
    expect(report).toMatchObject({
      verified: true,
      subject: { digest: img.manifestDigest, size: img.manifest.length, mediaType: img.mediaType },
      trustPolicy: { source: 'default', statement: 'default', level: 'strict' },
      trustStore: { certificates: 1 },
      referrersVia: 'referrers-api',
    });
    expect(report.signatures).toHaveLength(1);
    expect(report.signatures[0]).toMatchObject({
      verified: true,
      format: 'jws',
      alg: 'ES384',
      signingProfile: PROFILE,
      envelopeMediaType: 'application/jose+json',
      targetArtifact: { digest: img.manifestDigest },
    });
    const statuses = Object.fromEntries(
      (report.signatures[0].checks as { check: string; status: string }[]).map((c) => [c.check, c.status]),
    );
    expect(statuses).toEqual({
      envelope: 'passed',
      signature: 'passed',
      'target-artifact': 'passed',
      'certificate-chain': 'passed',
      'trusted-identity': 'passed',
      'signing-profile': 'skipped',
      'signing-time': 'passed',
      expiry: 'passed',
      revocation: 'skipped',
    });
  });

  it('checks --signing-profile against the signed attribute', async () => {
    const ok = await env.cli(['verify', 'sig/app:v1', '--trust-store', rootPem, '--signing-profile', PROFILE], {
      cwd: work,
    });
    expect(ok.code).toBe(0);
    const bad = await env.cli(['verify', 'sig/app:v1', '--trust-store', rootPem, '--signing-profile', OTHER_PROFILE], {
      cwd: work,
    });
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain(`signing-profile: signed by signing profile ${PROFILE}, not ${OTHER_PROFILE}`);
    expect(bad.stderr).toContain('signing-profile');
  });

  it('exits 3 with another trust store (certificate-chain)', async () => {
    const r = await env.cli(['verify', 'sig/app:v1', '--trust-store', testCaPem], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^NOT VERIFIED: /);
    expect(r.stderr).toMatch(
      /signature sha256:[0-9a-f]{64}: certificate-chain: the chain \(CN=ecrctl local managed signing/,
    );
    expect(r.stderr).toContain('does not lead to a certificate of the trust store');
  });

  it('exits 3 when one byte of the envelope is flipped (signature)', async () => {
    const flipped = tinyImage('verify-flipped');
    expect((await pushImage(endpoint, auth, 'sig/app', flipped, 'flipped')).status).toBe(201);
    const sig = await managedSignature('sig/app', flipped.manifestDigest);
    // Flip one byte inside the signed payload's base64url text: still a well-formed envelope.
    const text = sig.envelope.toString('latin1');
    const at = text.indexOf('"payload":"') + '"payload":"'.length + 10;
    const tampered = Buffer.from(sig.envelope);
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    expect(tampered.equals(sig.envelope)).toBe(false);
    const del = await fetch(`${endpoint}/v2/sig/app/manifests/${sig.digest}`, {
      method: 'DELETE',
      headers: { Authorization: auth },
    });
    expect(del.status).toBe(202);
    await attachSignature(endpoint, auth, 'sig/app', subjectOf(flipped), tampered, 'application/jose+json');
    const r = await env.cli(['verify', 'sig/app:flipped', '--trust-store', rootPem, '-o', 'json'], { cwd: work });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.verified).toBe(false);
    expect(report.signatures[0].failed).toMatchObject({
      check: 'signature',
      message: 'the ES384 signature does not match the signed header and payload',
    });
    expect(r.stderr).toContain('signature: the ES384 signature does not match');
  });
});

describe('verify (test CA envelopes)', () => {
  it('exits 3 for an expired certificate (signing-time), and verifies with a valid one', async () => {
    const img = tinyImage('verify-expired');
    expect((await pushImage(endpoint, auth, 'plain/app', img, 'expired')).status).toBe(201);
    const expired = await issueLeaf(testCa, 'expired signer', {
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const envelope = signJws({
      payload: { targetArtifact: subjectOf(img) },
      alg: 'ES256',
      key: expired.key,
      certificates: [expired.der, testCa.der],
      signingScheme: 'notary.x509',
      signingTime: new Date(),
    });
    await attachSignature(endpoint, auth, 'plain/app', subjectOf(img), envelope, 'application/jose+json');
    const r = await env.cli(['verify', 'plain/app:expired', '--trust-store', testCaPem], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/signing-time: CN=expired signer, .* is valid .* to .*, signing time/);

    // The same CA with a certificate valid now: verified (the failure above is the expiry alone).
    const valid = await issueLeaf(testCa, 'valid signer');
    const good = tinyImage('verify-valid');
    expect((await pushImage(endpoint, auth, 'plain/app', good, 'valid')).status).toBe(201);
    await attachSignature(
      endpoint,
      auth,
      'plain/app',
      subjectOf(good),
      signJws({
        payload: { targetArtifact: subjectOf(good) },
        alg: 'ES256',
        key: valid.key,
        certificates: [valid.der, testCa.der],
        signingScheme: 'notary.x509',
        signingTime: new Date(),
      }),
      'application/jose+json',
    );
    const ok = await env.cli(['verify', 'plain/app:valid', '--trust-store', testCaPem], { cwd: work });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('exits 3 for a signature of another digest (target-artifact)', async () => {
    const img = tinyImage('verify-other-a');
    const other = tinyImage('verify-other-b');
    expect((await pushImage(endpoint, auth, 'plain/app', img, 'other')).status).toBe(201);
    const leaf = await issueLeaf(testCa, 'valid signer');
    const envelope = signJws({
      payload: { targetArtifact: subjectOf(other) },
      alg: 'ES256',
      key: leaf.key,
      certificates: [leaf.der, testCa.der],
      signingScheme: 'notary.x509',
      signingTime: new Date(),
    });
    await attachSignature(endpoint, auth, 'plain/app', subjectOf(img), envelope, 'application/jose+json');
    const r = await env.cli(['verify', 'plain/app:other', '--trust-store', testCaPem], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `target-artifact: the signature is for another artifact: digest ${other.manifestDigest} (subject ${img.manifestDigest})`,
    );
  });

  it.each([
    ['ES256 (P-256)', 'P-256' as const],
    ['PS256 (RSA-2048)', 'RSA-2048' as const],
  ])('verifies a COSE envelope built here, %s; a tampered one exits 3', async (_what, key) => {
    const img = tinyImage(`verify-cose-${key}`);
    const tag = `cose-${key.toLowerCase()}`;
    expect((await pushImage(endpoint, auth, 'plain/app', img, tag)).status).toBe(201);
    const leaf = await issueLeaf(testCa, 'cose signer', { key });
    const envelope = coseEnvelope(subjectOf(img), leaf, testCa);
    const sig = await attachSignature(endpoint, auth, 'plain/app', subjectOf(img), envelope, 'application/cose');
    const ok = await env.cli(['verify', `plain/app:${tag}`, '--trust-store', testCaPem, '-o', 'json'], { cwd: work });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).signatures[0]).toMatchObject({
      digest: sig,
      verified: true,
      format: 'cose',
      alg: key === 'P-256' ? 'ES256' : 'PS256',
      envelopeMediaType: 'application/cose',
    });

    // The same envelope with one byte of the payload changed: replace the good signature.
    const tampered = Buffer.from(envelope);
    const at = tampered.indexOf(Buffer.from(img.manifestDigest.slice(7, 20)));
    expect(at).toBeGreaterThan(0);
    tampered[at] = tampered[at] === 0x61 ? 0x62 : 0x61;
    const del = await fetch(`${endpoint}/v2/plain/app/manifests/${sig}`, {
      method: 'DELETE',
      headers: { Authorization: auth },
    });
    expect(del.status).toBe(202);
    await attachSignature(endpoint, auth, 'plain/app', subjectOf(img), tampered, 'application/cose');
    const bad = await env.cli(['verify', `plain/app:${tag}`, '--trust-store', testCaPem], { cwd: work });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(
      `signature: the ${key === 'P-256' ? 'ES256' : 'PS256'} signature does not match the signed header and payload`,
    );
  });
});

describe('verify where the registry has no referrers API', () => {
  it('finds the signature through the sha256-<hex> tag (404 and 405) and verifies it', async () => {
    const noDocker = { DOCKER_CONFIG: path.join(work, 'no-docker') };
    const img = tinyImage('verify-mirror');
    expect((await pushImage(endpoint, auth, 'sig/app', img, 'mirror')).status).toBe(201);
    const copied = await env.cli(['copy', 'sig/app:mirror', `${reg.host}/mirror/app:v1`], { cwd: work, env: noDocker });
    expect(copied.code, copied.stderr).toBe(0);
    const direct = await env.cli(['verify', `${reg.host}/mirror/app:v1`, '--trust-store', rootPem], {
      cwd: work,
      env: noDocker,
    });
    expect(direct.code, direct.stderr).toBe(0);
    const proxy = await referrers405Proxy(reg.url);
    try {
      const r = await env.cli(['verify', `${proxy.host}/mirror/app:v1`, '--trust-store', rootPem, '-o', 'json'], {
        cwd: work,
        env: noDocker,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, referrersVia: 'tag-schema' });
    } finally {
      await proxy.stop();
    }
  });
});

describe('trust policy', () => {
  it('applies registryScopes and trustedIdentities', async () => {
    const host = new URL(endpoint).host;
    const policy = (identities: string[], scope = `${host}/sig/app`) =>
      JSON.stringify({
        version: '1.0',
        trustPolicies: [
          {
            name: 'release',
            registryScopes: [scope],
            signatureVerification: { level: 'strict' },
            trustStores: ['signingAuthority:local'],
            trustedIdentities: identities,
          },
        ],
      });
    // A notation-style trust store directory: x509/signingAuthority/local/root.pem.
    const store = path.join(work, 'truststore');
    mkdirSync(path.join(store, 'x509', 'signingAuthority', 'local'), { recursive: true });
    writeFileSync(path.join(store, 'x509', 'signingAuthority', 'local', 'root.pem'), readFileSync(rootPem));
    const file = path.join(work, 'policy.json');

    writeFileSync(file, policy([PROFILE]));
    const byArn = await env.cli(['verify', 'sig/app:v1', '--trust-store', store, '--trust-policy', file], {
      cwd: work,
    });
    expect(byArn.stderr).toBe('');
    expect(byArn.code).toBe(0);

    writeFileSync(file, policy(['x509.subject: C=US, ST=Local, O=ecrctl local, CN=ecrctl local managed signing']));
    expect(
      (await env.cli(['verify', 'sig/app:v1', '--trust-store', store, '--trust-policy', file], { cwd: work })).code,
    ).toBe(0);

    writeFileSync(file, policy(['x509.subject: C=US, ST=WA, O=Someone Else']));
    const wrongId = await env.cli(['verify', 'sig/app:v1', '--trust-store', store, '--trust-policy', file], {
      cwd: work,
    });
    expect(wrongId.code).toBe(3);
    expect(wrongId.stderr).toContain('trusted-identity: signer CN=ecrctl local managed signing');

    writeFileSync(file, policy(['*'], `${host}/other/repo`));
    const outOfScope = await env.cli(['verify', 'sig/app:v1', '--trust-store', store, '--trust-policy', file], {
      cwd: work,
    });
    expect(outOfScope.code).toBe(3);
    expect(outOfScope.stderr).toContain(`no statement of trust policy ${file} covers ${host}/sig/app`);

    writeFileSync(file, '{"version":"1.0","trustPolicies":[{"name":"x","registryScopes":["*"]}]}');
    const broken = await env.cli(['verify', 'sig/app:v1', '--trust-store', store, '--trust-policy', file], {
      cwd: work,
    });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('signatureVerification.level must be one of strict, permissive, audit, skip');
  });
});

describe('--require-signed', () => {
  it('promote of an unsigned image exits 3 and moves no tag; a signed one is promoted', async () => {
    const unsigned = tinyImage('promote-unsigned');
    expect((await pushImage(endpoint, auth, 'plain/app', unsigned, 'rc1')).status).toBe(201);
    const before = await tagsOf('plain/app');
    const r = await env.cli(['promote', 'plain/app:rc1', 'production', '--require-signed', '--trust-store', rootPem], {
      cwd: work,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`has no Notary signature`);
    expect(await tagsOf('plain/app')).toEqual(before);
    expect(before.production).toBeUndefined();

    const signed = tinyImage('promote-signed');
    expect((await pushImage(endpoint, auth, 'sig/app', signed, 'rc2')).status).toBe(201);
    const ok = await env.cli(
      ['promote', 'sig/app:rc2', 'production', '--require-signed', '--trust-store', rootPem, '-o', 'json'],
      { cwd: work },
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ added: ['production'], signature: { signingProfile: PROFILE } });
    expect((await tagsOf('sig/app')).production).toBe(signed.manifestDigest);
  });

  it('copy of an unsigned image exits 3 and writes no tag; a signed one is copied with its signature', async () => {
    const r = await env.cli(['copy', 'plain/app:rc1', 'copied/app:rc1', '--require-signed', '--trust-store', rootPem], {
      cwd: work,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('has no Notary signature');
    expect((await env.cli(['tags', 'copied/app'], { cwd: work })).code).not.toBe(0);
    expect((await env.cli(['create-repo', 'copied/app'], { cwd: work })).code).toBe(0);
    const ok = await env.cli(['copy', 'sig/app:rc2', 'copied/app:rc2', '--require-signed', '--trust-store', rootPem], {
      cwd: work,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await tagsOf('copied/app')).rc2).toBe((await tagsOf('sig/app')).rc2);
    expect((await env.cli(['verify', 'copied/app:rc2', '--trust-store', rootPem], { cwd: work })).code).toBe(0);
  });

  it('sync apply --require-signed copies the signed image and fails (stage verify) the unsigned one', async () => {
    const config = path.join(work, 'sync-signed.yaml');
    writeFileSync(
      config,
      [
        'sync:',
        '  - source: sig/app',
        '    target: synced/sig',
        "    tags: { allow: ['^rc2$'] }",
        '  - source: plain/app',
        '    target: synced/plain',
        "    tags: { allow: ['^rc1$'] }",
        '',
      ].join('\n'),
    );
    const r = await env.cli(
      ['sync', 'apply', '-f', config, '--require-signed', '--trust-store', rootPem, '-o', 'json'],
      { cwd: work },
    );
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as {
      copied: { target: string; tags: string[] }[];
      failures: { target: string; stage: string; message: string }[];
    };
    expect(result.copied.map((c) => [c.target.split('/').slice(-2).join('/'), c.tags])).toEqual([
      ['synced/sig', ['rc2']],
    ]);
    expect(result.failures.map((f) => [f.target.split('/').slice(-2).join('/'), f.stage])).toEqual([
      ['synced/plain', 'verify'],
    ]);
    expect(result.failures[0]?.message).toContain('has no Notary signature');
    expect((await tagsOf('synced/sig')).rc2).toBe((await tagsOf('sig/app')).rc2);
    expect((await env.cli(['tags', 'synced/plain'], { cwd: work })).stdout).toBe('');
  });

  it('needs --trust-store, and refuses trust options without --require-signed (exit 2)', async () => {
    const a = await env.cli(['promote', 'sig/app:v1', 'x', '--require-signed'], { cwd: work });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('signature verification needs --trust-store');
    const b = await env.cli(['promote', 'sig/app:v1', 'x', '--trust-store', rootPem], { cwd: work });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--trust-store only apply with --require-signed');
  });

  it('pull refuses an unsigned image (nothing written); pull → layout → tag-push keeps it verifiable', async () => {
    const out = path.join(work, 'pulled-unsigned');
    const r = await env.cli(['pull', 'plain/app:rc1', `oci:${out}`, '--require-signed', '--trust-store', rootPem], {
      cwd: work,
    });
    expect(r.code).toBe(3);
    expect(existsSync(out)).toBe(false);

    const layout = path.join(work, 'pulled-signed');
    const ok = await env.cli(['pull', 'sig/app:v1', `oci:${layout}:v1`, '--require-signed', '--trust-store', rootPem], {
      cwd: work,
    });
    expect(ok.stderr).toContain('signature verified');
    expect(ok.code).toBe(0);
    // The layout holds the signature: verify reads it there, and tag-push gates on it.
    expect((await env.cli(['verify', `oci:${layout}:v1`, '--trust-store', rootPem], { cwd: work })).code).toBe(0);
    const pushed = await env.cli(
      ['tag-push', `oci:${layout}:v1`, 'plain/app:from-layout', '--require-signed', '--trust-store', rootPem],
      { cwd: work },
    );
    expect(pushed.code).toBe(0);
    expect((await env.cli(['verify', 'plain/app:from-layout', '--trust-store', rootPem], { cwd: work })).code).toBe(0);
    const refused = await env.cli(
      ['tag-push', `oci:${layout}:v1`, 'plain/app:nope', '--require-signed', '--trust-store', testCaPem],
      { cwd: work },
    );
    expect(refused.code).toBe(3);
    expect((await tagsOf('plain/app')).nope).toBeUndefined();
  });
});

// artifact push/pull, helm push, attach and discover against `ecrctl local` (in-process),
// behind a proxy that answers 405 to the referrers API, and against Debian's docker-registry.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateRepositoryCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, skopeo, startRegistry } from '../helpers/registry.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let dataHost: string;
let creds: string;
let imageDigest: string;

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeAll(async () => {
  env = await startRepoEnv();
  dataHost = new URL(await env.server.registryEndpoint('us-east-1')).host;
  const token = await env.ecr.send(new GetAuthorizationTokenCommand({}));
  creds = Buffer.from(token.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString('utf8');
  for (const r of ['charts/mychart', 'team/app', 'team/files'])
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: r }));
  const layout = path.join(env.dir, 'layout');
  const image = buildImage(31);
  imageDigest = image.manifest.digest;
  writeOciLayout(layout, [{ image, tag: 'v1' }]);
  const pushed = await env.cli(['tag-push', `oci:${layout}:v1`, 'team/app:v1']);
  expect(pushed.code, pushed.stderr).toBe(0);
});
afterAll(async () => {
  await env?.close();
});

/** Builds a chart package as `helm package` lays it out: <name>/Chart.yaml, values, templates. */
function makeChart(dir: string): string {
  const root = path.join(dir, 'chart-src');
  mkdirSync(path.join(root, 'mychart', 'templates'), { recursive: true });
  writeFileSync(
    path.join(root, 'mychart', 'Chart.yaml'),
    [
      'apiVersion: v2',
      'name: mychart',
      'description: A Helm chart for <tests> & more',
      'type: application',
      'version: 0.1.0',
      'appVersion: "1.16.0"',
      'home: https://example.com/mychart',
      'sources:',
      '  - https://github.com/example/mychart',
      'maintainers:',
      '  - name: Ann',
      '    email: ann@example.com',
      'annotations:',
      '  category: demo',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(root, 'mychart', 'values.yaml'), 'replicaCount: 1\n');
  writeFileSync(path.join(root, 'mychart', 'templates', 'cm.yaml'), 'kind: ConfigMap\n');
  const tgz = path.join(dir, 'mychart-0.1.0.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', root, 'mychart']);
  return tgz;
}

describe('helm push', () => {
  it('stores the chart as helm push does; skopeo sees Helm media types; artifact pull gives it back byte-identical', async () => {
    const tgz = makeChart(env.dir);
    const created = '2026-12-02T10:00:00Z';
    const r = await env.cli(['helm', 'push', tgz, 'charts', '--created', created, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.chart).toEqual({ name: 'mychart', version: '0.1.0' });
    expect(out.reference).toBe(`${dataHost}/charts/mychart:0.1.0`);

    const raw = (
      await skopeo([
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        creds,
        `docker://${dataHost}/charts/mychart:0.1.0`,
      ])
    ).stdout;
    // What `helm push` writes (helm pkg/registry client.go Push + chart.go
    // generateOCIAnnotations, read through the search tool): json.Marshal of an
    // ocispec.Manifest with SchemaVersion 2, Config, Layers and Annotations only — so no
    // top-level mediaType and no artifactType; config = json.Marshal(chart.Metadata) (struct
    // field order, omitempty, Go's \u003c \u003e \u0026 escaping) with media type
    // application/vnd.cncf.helm.config.v1+json; one layer, the .tgz bytes, untitled, media
    // type application/vnd.cncf.helm.chart.content.v1.tar+gzip; annotations (sorted keys, as
    // Go marshals maps): description, title = name, version, url = home, created, source =
    // sources[0], authors = "Name (email)", plus the chart's own annotations.
    const chart = readFileSync(tgz);
    const config = Buffer.from(
      '{"name":"mychart","home":"https://example.com/mychart","sources":["https://github.com/example/mychart"],' +
        '"version":"0.1.0","description":"A Helm chart for \\u003ctests\\u003e \\u0026 more",' +
        '"maintainers":[{"name":"Ann","email":"ann@example.com"}],"apiVersion":"v2","appVersion":"1.16.0",' +
        '"annotations":{"category":"demo"},"type":"application"}',
    );
    const expected =
      `{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"${sha256(config)}","size":${config.length}},` +
      `"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"${sha256(chart)}","size":${chart.length}}],` +
      `"annotations":{"category":"demo","org.opencontainers.image.authors":"Ann (ann@example.com)",` +
      `"org.opencontainers.image.created":"${created}",` +
      `"org.opencontainers.image.description":"A Helm chart for \\u003ctests\\u003e \\u0026 more",` +
      `"org.opencontainers.image.source":"https://github.com/example/mychart",` +
      `"org.opencontainers.image.title":"mychart","org.opencontainers.image.url":"https://example.com/mychart",` +
      `"org.opencontainers.image.version":"0.1.0"}}`;
    expect(raw).toBe(expected);
    expect(out.digest).toBe(sha256(expected));

    const dest = path.join(env.dir, 'pulled-chart');
    const p = await env.cli(['artifact', 'pull', 'charts/mychart:0.1.0', dest]);
    expect(p.code, p.stderr).toBe(0);
    expect(readdirSync(dest)).toEqual(['mychart-0.1.0.tgz']);
    expect(readFileSync(path.join(dest, 'mychart-0.1.0.tgz')).equals(chart)).toBe(true);
  });
});

describe('artifact push and pull', () => {
  it('pushes titled files and pulls them back, digests checked', async () => {
    const a = path.join(env.dir, 'notes.md');
    const b = path.join(env.dir, 'data.bin');
    writeFileSync(a, '# notes\n');
    writeFileSync(b, Buffer.alloc(3000, 9));
    const r = await env.cli([
      'artifact',
      'push',
      'team/files:v1',
      `${a}:text/markdown`,
      b,
      '--artifact-type',
      'application/vnd.example.bundle.v1',
      '--annotation',
      'org.example.k=v',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.manifest.artifactType).toBe('application/vnd.example.bundle.v1');
    expect(out.manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(out.manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'text/markdown',
      'application/octet-stream',
    ]);
    const dest = path.join(env.dir, 'pulled-files');
    const p = await env.cli(['artifact', 'pull', 'team/files:v1', dest]);
    expect(p.code, p.stderr).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(['data.bin', 'notes.md']);
    expect(readFileSync(path.join(dest, 'notes.md'), 'utf8')).toBe('# notes\n');
  });

  it('an artifactType with ; parameters exits 3 naming the rule, and nothing reaches the registry', async () => {
    const f = path.join(env.dir, 'x.txt');
    writeFileSync(f, 'x');
    const before = env.server.calls.length;
    const r = await env.cli([
      'artifact',
      'push',
      'team/files:bad',
      f,
      '--artifact-type',
      'application/vnd.example+json; charset=utf-8',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('parameters');
    expect(r.stderr).toContain('nothing was uploaded');
    expect(env.server.calls.length).toBe(before);
    const a = await env.cli(['attach', 'team/app:v1', f, '--artifact-type', 'text/plain;v=1']);
    expect(a.code).toBe(3);
    expect(env.server.calls.length).toBe(before);
  });

  it('refuses titles that escape the directory (.., absolute, symlinked parent) and writes nothing', async () => {
    const { createSession } = await import('../../src/session.js');
    const { artifactPush } = await import('../../src/ops/artifact.js');
    const f = path.join(env.dir, 'evil.txt');
    writeFileSync(f, 'evil');
    const session = createSession({
      endpointUrl: env.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      env: { HOME: path.join(env.dir, 'home'), AWS_EC2_METADATA_DISABLED: 'true' },
      cwd: env.dir,
    });
    const cases: Array<[string, string]> = [
      ['dotdot', '../outside.txt'],
      ['abs', path.join(env.dir, 'abs.txt')],
      ['link', 'link/inside.txt'],
    ];
    for (const [tag, title] of cases) {
      await artifactPush(session, {
        reference: `team/files:${tag}`,
        files: [
          { path: 'notes.md', title: 'good.txt' },
          { path: 'evil.txt', title },
        ],
      });
      const dest = path.join(env.dir, `escape-${tag}`);
      const outside = path.join(env.dir, `outside-${tag}`);
      mkdirSync(dest);
      mkdirSync(outside);
      symlinkSync(outside, path.join(dest, 'link'));
      const r = await env.cli(['artifact', 'pull', `team/files:${tag}`, dest]);
      expect(r.code, `${tag}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain('refusing to write');
      // Nothing written: not the good file either, and nothing outside.
      expect(readdirSync(dest)).toEqual(['link']);
      expect(readdirSync(outside)).toEqual([]);
    }
    expect(readdirSync(path.dirname(env.dir)).includes('outside.txt')).toBe(false);
  });
});

describe('attach and discover', () => {
  it('attaches an SPDX SBOM through the referrers API; discover lists it (JSON and tree)', async () => {
    const sbom = path.join(env.dir, 'sbom.spdx.json');
    writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }));
    const a = await env.cli(['attach', 'team/app:v1', sbom, '--artifact-type', 'application/spdx+json', '-o', 'json']);
    expect(a.code, a.stderr).toBe(0);
    const attached = JSON.parse(a.stdout);
    expect(attached).toMatchObject({
      subject: imageDigest,
      via: 'referrers-api',
      artifactType: 'application/spdx+json',
    });
    // a signature of the SBOM: a referrer of a referrer
    const sig = path.join(env.dir, 'sbom.sig');
    writeFileSync(sig, 'signature');
    const s = await env.cli([
      'attach',
      `team/app@${attached.digest}`,
      sig,
      '--artifact-type',
      'application/vnd.example.signature',
    ]);
    expect(s.code, s.stderr).toBe(0);

    const d = await env.cli(['discover', 'team/app:v1', '-o', 'json']);
    expect(d.code, d.stderr).toBe(0);
    const found = JSON.parse(d.stdout);
    expect(found.digest).toBe(imageDigest);
    expect(found.total).toBe(2);
    expect(found.referrers).toHaveLength(1);
    expect(found.referrers[0]).toMatchObject({ digest: attached.digest, artifactType: 'application/spdx+json' });
    // the emulator serves both the data-plane API and ListImageReferrers
    expect(found.referrers[0].sources.sort()).toEqual(['ecr-api', 'referrers-api']);
    expect(found.referrers[0].referrers[0].artifactType).toBe('application/vnd.example.signature');

    const tree = await env.cli(['discover', 'team/app:v1']);
    expect(tree.code).toBe(0);
    expect(tree.stdout).toContain(`@${imageDigest}\n└── application/spdx+json\n    └── ${attached.digest}\n`);
    expect(tree.stdout).toContain('└── application/vnd.example.signature');

    const filtered = await env.cli(['discover', 'team/app:v1', '--artifact-type', 'text/none', '-o', 'json']);
    expect(JSON.parse(filtered.stdout).total).toBe(0);
  });

  it('behind a proxy that answers 405 to the referrers API: attach uses the tag schema and says so; discover finds it', async () => {
    let proxied = 0;
    let refused = 0;
    const proxy = http.createServer((req, res) => {
      proxied++;
      if (/^\/v2\/.+\/referrers\//.test(req.url ?? '')) {
        refused++;
        res.writeHead(405, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNSUPPORTED","message":"Invalid JSON"}]}');
        return;
      }
      const [h, p] = dataHost.split(':');
      const up = http.request(
        { host: h, port: Number(p), method: req.method, path: req.url, headers: { ...req.headers, host: dataHost } },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // The proxy is a registry of its own to ecrctl: its credentials come from a Docker config.
    const dockerDir = path.join(env.dir, 'proxy-docker');
    mkdirSync(dockerDir, { recursive: true });
    writeFileSync(
      path.join(dockerDir, 'config.json'),
      JSON.stringify({ auths: { [proxyHost]: { auth: Buffer.from(creds).toString('base64') } } }),
    );
    const proxyEnv = { env: { DOCKER_CONFIG: dockerDir } };
    try {
      const vex = path.join(env.dir, 'vex.json');
      writeFileSync(vex, '{"@context":"https://openvex.dev/ns"}');
      const a = await env.cli(
        ['attach', `${proxyHost}/team/app:v1`, vex, '--artifact-type', 'application/vnd.openvex+json', '-o', 'json'],
        proxyEnv,
      );
      expect(a.code, a.stderr).toBe(0);
      const out = JSON.parse(a.stdout);
      expect(out.via).toBe('tag-schema');
      expect(out.tag).toBe(imageDigest.replace(':', '-'));
      expect(a.stderr).toContain('answered 405 to the referrers API');
      expect(a.stderr).toContain(`tag ${imageDigest.replace(':', '-')}`);
      expect(refused).toBeGreaterThan(0);

      const d = await env.cli(
        ['discover', `${proxyHost}/team/app:v1`, '--artifact-type', 'application/vnd.openvex+json', '-o', 'json'],
        proxyEnv,
      );
      expect(d.code, d.stderr).toBe(0);
      const found = JSON.parse(d.stdout);
      expect(found.referrers.map((n: { digest: string }) => n.digest)).toEqual([out.digest]);
      expect(found.referrers[0].sources).toContain('tag-schema');
      expect(proxied).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('against docker-registry (distribution 2.8)', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('attach falls back to the tag schema where the registry has no referrers API; discover finds it', async () => {
    const layout = path.join(env.dir, 'layout-reg');
    writeOciLayout(layout, [{ image: buildImage(32), tag: 'v1' }]);
    const home = path.join(env.dir, 'home-reg');
    mkdirSync(home, { recursive: true });
    const cli = (args: string[]) => runCli(args, { env: { HOME: home, AWS_REGION: 'us-east-1' } });
    const c = await cli(['copy', `oci:${layout}:v1`, `${reg.host}/demo/app:v1`]);
    expect(c.code, c.stderr).toBe(0);
    const sbom = path.join(env.dir, 'reg-sbom.json');
    writeFileSync(sbom, '{"spdxVersion":"SPDX-2.3"}');
    const a = await cli([
      'attach',
      `${reg.host}/demo/app:v1`,
      sbom,
      '--artifact-type',
      'application/spdx+json',
      '-o',
      'json',
    ]);
    expect(a.code, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout);
    expect(out.via).toBe('tag-schema');
    expect(a.stderr).toContain('OCI referrers tag schema');
    const d = await cli(['discover', `${reg.host}/demo/app:v1`, '-o', 'json']);
    expect(d.code, d.stderr).toBe(0);
    const found = JSON.parse(d.stdout);
    expect(found.referrers.map((n: { digest: string }) => n.digest)).toEqual([out.digest]);
    // artifact pull of the referrer gives the SBOM back
    const dest = path.join(env.dir, 'reg-pulled');
    const p = await cli(['artifact', 'pull', `${reg.host}/demo/app@${out.digest}`, dest]);
    expect(p.code, p.stderr).toBe(0);
    expect(readFileSync(path.join(dest, 'reg-sbom.json'), 'utf8')).toBe('{"spdxVersion":"SPDX-2.3"}');
  });
});

describe('artifact pull from a registry that serves wrong bytes', () => {
  it('exits non-zero and leaves no file, not even a temporary one', async () => {
    const good = Buffer.from('good');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
      layers: [
        {
          mediaType: 'text/plain',
          digest: sha256(good),
          size: 4,
          annotations: { 'org.opencontainers.image.title': 'f.txt' },
        },
      ],
    });
    const server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/') res.writeHead(200).end('{}');
      else if (url.startsWith('/v2/x/manifests/'))
        res
          .writeHead(200, {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
            'docker-content-digest': sha256(manifest),
            'content-length': String(Buffer.byteLength(manifest)),
          })
          .end(req.method === 'HEAD' ? undefined : manifest);
      else if (url.startsWith('/v2/x/blobs/')) res.writeHead(200, { 'content-length': '4' }).end('bad!');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dest = path.join(env.dir, 'pulled-bad');
      const home = path.join(env.dir, 'home-bad');
      mkdirSync(home, { recursive: true });
      const r = await runCli(['artifact', 'pull', `${host}/x:v1`, dest], { env: { HOME: home } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/sha256|digest/);
      expect(readdirSync(dest)).toEqual([]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

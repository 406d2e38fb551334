// `ecrctl scan` against `ecrctl local` with an advisory file: exit codes (0, 4 with --fail-on,
// 1 on a failed scan or a timeout), the table / json / sarif outputs, the ignore list (id AND
// package, expiry), findings read across pages, basic vs enhanced, the 24-hour reuse, the
// per-platform report of an index, and `scan config get|set`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  PutRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { ecrClient, start, tempDir } from '../local/helpers.js';
import { layerTar, makeImage, tagged, writeRawLayout } from '../helpers/layout-fixtures.js';
import { apkInstalled, dpkgStatus, pushImage, pushIndex, writeAdvisories } from '../local/scanning-fixtures.js';

const require = createRequire(import.meta.url);
// ajv-draft-04 is CommonJS: its module.exports is the validator class.
const Ajv04 = require('ajv-draft-04') as typeof import('ajv-draft-04').default;

let server: LocalServer;
let ecr: ECRClient;
let tmp: { dir: string; remove: () => void };
let home: string;

const FAST = ['--poll-interval', '50ms', '--confirm-delay', '50ms'];
const DEBIAN = {
  'var/lib/dpkg/status': dpkgStatus([
    ['openssl', '3.0.9-1'],
    ['bash', '5.2.15-2'],
    ['zlib1g', '1:1.2.13.dfsg-1'],
    ['libc6', '2.36-9'],
  ]),
};

beforeAll(async () => {
  tmp = tempDir('ecrctl-scan-cli-');
  home = path.join(tmp.dir, 'home');
  mkdirSync(home, { recursive: true });
  const advisories = path.join(tmp.dir, 'advisories.json');
  writeAdvisories(advisories, [
    {
      id: 'CVE-2024-0001',
      package: 'openssl',
      ecosystem: 'deb',
      fixedIn: '3.0.11-1~deb12u2',
      severity: 'HIGH',
      score: 7.5,
      description: 'openssl overflow',
      uri: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
    },
    {
      id: 'CVE-2024-0002',
      package: 'bash',
      ecosystem: 'deb',
      severity: 'CRITICAL',
      score: 9.8,
      description: 'bash, no fix yet',
    },
    {
      id: 'CVE-2024-0003',
      package: 'libc6',
      ecosystem: 'deb',
      fixedIn: '2.36-9+deb12u4',
      severity: 'MEDIUM',
      score: 5.3,
      description: 'glibc issue',
    },
    {
      id: 'CVE-2024-0004',
      package: 'libc6',
      ecosystem: 'deb',
      fixedIn: '2.36-9+deb12u1',
      severity: 'LOW',
      description: 'glibc minor',
    },
    { id: 'CVE-2024-0005', package: 'zlib1g', ecosystem: 'deb', fixedIn: '1:1.3', severity: 'INFORMATIONAL' },
    { id: 'CVE-2024-0009', package: 'musl', ecosystem: 'apk', fixedIn: '1.2.4-r2', severity: 'HIGH', score: 8.1 },
  ]);
  // Scans last a tenth of their ECR-like 5 s (500 ms): `--wait` still reads IN_PROGRESS
  // first with FAST's 50 ms polls (also on a loaded machine), without waiting 5 s per scan.
  server = await start(path.join(tmp.dir, 'data'), { advisoriesFile: advisories, stateDelayScale: 0.1 });
  ecr = ecrClient(server);
  for (const repo of ['scan/app', 'scan/multi', 'scan/odd', 'enh/app'])
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
  await pushImage(ecr, 'scan/app', [{ 'etc/os-release': 'ID=debian\n' }, DEBIAN], { tag: 'v1' });
  await pushImage(ecr, 'scan/app', [DEBIAN], { tag: 'v2', label: 'v2' });
  await pushImage(ecr, 'scan/app', [DEBIAN], { tag: 'v3', label: 'v3' });
  await pushImage(ecr, 'scan/app', [DEBIAN], { tag: 'v4', label: 'v4' });
  await pushImage(ecr, 'scan/app', [DEBIAN], { tag: 'paged', label: 'paged' });
  await pushImage(ecr, 'scan/app', [{ 'var/lib/dpkg/status': dpkgStatus([['tzdata', '2024a-0']]) }], { tag: 'clean' });
  const amd = await pushImage(ecr, 'scan/multi', [DEBIAN], { arch: 'amd64' });
  const arm = await pushImage(ecr, 'scan/multi', [{ 'lib/apk/db/installed': apkInstalled([['musl', '1.2.4-r1']]) }], {
    arch: 'arm64',
  });
  await pushIndex(
    ecr,
    'scan/multi',
    [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
    'v1',
  );
  await pushImage(ecr, 'scan/odd', [{ 'app/main': 'binary' }], { tag: 'scratch' });
  await pushImage(ecr, 'scan/odd', [Buffer.from([0x1f, 0x8b, 8, 0, 9, 9, 9, 9])], { tag: 'broken' });
  await pushImage(ecr, 'enh/app', [DEBIAN], { tag: 'v1' });
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(['--endpoint-url', server.url, ...args], {
    cwd: tmp.dir,
    env: {
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      HOME: home,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      ...env,
    },
  });
}

interface JsonReport {
  digest: string;
  images: {
    platform?: string;
    status: string;
    scanType: string;
    counts: Record<string, number>;
    findings: { id: string; severity: string; package?: string; version?: string; fixedIn?: string; score?: number }[];
    ignored: { finding: { id: string }; entry: { reason?: string } }[];
  }[];
  failing: { id: string }[];
}

describe('ecrctl scan: waiting, table, reuse', () => {
  it('starts a scan, waits through IN_PROGRESS, and prints counts then findings most severe first', async () => {
    const r = await cli(['scan', 'scan/app:v1', '--wait', ...FAST]);
    expect(r.stderr).toContain('scan of scan/app:v1: IN_PROGRESS');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^scan\/app@sha256:[0-9a-f]{64}: COMPLETE, scanned \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lines[1]).toBe('CRITICAL 1  HIGH 1  MEDIUM 1  LOW 1  INFORMATIONAL 1  UNDEFINED 0');
    expect(lines[2]).toMatch(/^SEVERITY\s+ID\s+PACKAGE\s+VERSION\s+FIXED IN\s+SCORE\s+LINK$/);
    expect(lines.slice(3).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'CRITICAL CVE-2024-0002 bash 5.2.15-2',
      'HIGH CVE-2024-0001 openssl 3.0.9-1',
      'MEDIUM CVE-2024-0003 libc6 2.36-9',
      'LOW CVE-2024-0004 libc6 2.36-9',
      'INFORMATIONAL CVE-2024-0005 zlib1g 1:1.2.13.dfsg-1',
    ]);
    expect(lines[4]).toContain('https://security-tracker.debian.org/tracker/CVE-2024-0001');
  });

  it('uses the result from the last 24 hours instead of starting another scan, and says so', async () => {
    const before = server.calls.filter((c) => c === 'ecr:StartImageScan').length;
    const r = await cli(['scan', 'scan/app:v1', '--wait', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /scan\/app:v1 was scanned at \S+, within the last 24 hours; ECR allows one scan per image per day, so that result is used/,
    );
    expect(r.stdout).toContain('CRITICAL 1  HIGH 1  MEDIUM 1  LOW 1  INFORMATIONAL 1  UNDEFINED 0');
    expect(server.calls.filter((c) => c === 'ecr:StartImageScan').length).toBe(before);
  });

  it('scans an image pushed with tag-push through the data plane (OCI layout, gzip layers)', async () => {
    const layout = path.join(tmp.dir, 'layout');
    const image = makeImage([layerTar(DEBIAN)], 'pushed', { gzip: true });
    writeRawLayout(
      layout,
      { ...Object.fromEntries(image.blobs), [image.manifest.digest]: image.manifest.bytes },
      { schemaVersion: 2, manifests: [tagged(image.manifest, 'v1')] },
    );
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    const push = await cli(['tag-push', `oci:${layout}:v1`, `${host}/scan/app:pushed`]);
    expect(push.code, push.stderr).toBe(0);
    const r = await cli(['scan', `${host}/scan/app:pushed`, '--fail-on', 'CRITICAL', ...FAST]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('CVE-2024-0002 CRITICAL bash 5.2.15-2');
  });

  it('tag-push --scan --fail-on pushes, scans and exits 4; the image stays pushed and stdout stays one JSON document', async () => {
    const layout = path.join(tmp.dir, 'layout-scan');
    const image = makeImage([layerTar(DEBIAN)], 'push-and-scan', { gzip: true });
    writeRawLayout(
      layout,
      { ...Object.fromEntries(image.blobs), [image.manifest.digest]: image.manifest.bytes },
      { schemaVersion: 2, manifests: [tagged(image.manifest, 'v1')] },
    );
    const r = await cli([
      '-o',
      'json',
      'tag-push',
      `oci:${layout}:v1`,
      'scan/app:push-scan',
      '--scan',
      '--fail-on',
      'CRITICAL',
    ]);
    expect(r.code, r.stderr).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({
      action: 'pushed',
      digest: image.manifest.digest,
      tags: ['push-scan'],
    });
    expect(r.stderr).toContain('CRITICAL 1  HIGH 1');
    expect(r.stderr).toContain('CVE-2024-0002 CRITICAL bash 5.2.15-2');
    const pushed = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'scan/app', imageIds: [{ imageTag: 'push-scan' }] }),
    );
    expect(pushed.imageDetails?.[0]?.imageDigest).toBe(image.manifest.digest);

    const lenient = await cli([
      'tag-push',
      `oci:${layout}:v1`,
      'scan/app:push-scan',
      '--scan',
      '--fail-on',
      'CRITICAL',
      '--ignore',
      'nope.yaml',
    ]);
    expect(lenient.code).toBe(6);
    // --fail-on implies --scan (as scan --fail-on implies --wait): the push scans and gates.
    const implied = await cli(['tag-push', `oci:${layout}:v1`, 'scan/app:push-scan', '--fail-on', 'HIGH']);
    expect(implied.code).toBe(4);
    const misuse = await cli(['tag-push', `oci:${layout}:v1`, 'scan/app:push-scan', '--ignore', 'nope.yaml']);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toContain('--ignore goes with --scan or --fail-on');
  });

  it('without --wait starts the scan and reports IN_PROGRESS', async () => {
    const r = await cli(['scan', 'scan/app:v4', '--output', 'env', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SCAN_STATUS=IN_PROGRESS');
    expect(r.stderr).toContain('run again with --wait');
  });

  it('confirms a COMPLETE scan without findings by reading it again before calling the image clean', async () => {
    const r = await cli(['scan', 'scan/app:clean', '--wait', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no findings; reading again in 50ms to confirm');
    expect(r.stdout).toContain('no findings');
  });
});

describe('ecrctl scan --fail-on and --ignore', () => {
  it('exits 4 when a finding is HIGH or worse, and names them', async () => {
    const r = await cli(['scan', 'scan/app:v1', '--fail-on', 'HIGH', ...FAST]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('2 findings at or above HIGH in scan/app:v1');
    expect(r.stderr).toContain('CVE-2024-0002 CRITICAL bash 5.2.15-2');
    expect(r.stderr).toContain('CVE-2024-0001 HIGH openssl 3.0.9-1');
    expect(r.stdout).toContain('CRITICAL 1  HIGH 1');
  });

  it('accepts ignored findings by id AND package; expired ignores stop applying and are reported', async () => {
    writeFileSync(
      path.join(tmp.dir, 'ignore.yaml'),
      [
        '- id: CVE-2024-0002',
        '  package: bash',
        '  expires: 2999-12-31',
        '  reason: not reachable from the service',
        '- id: CVE-2024-0001',
        '  package: libssl3',
        '  reason: the right id for another package must not hide openssl',
        '- id: cve-2024-0003',
        '  package: libc6',
        '  expires: 2020-01-01',
        '  reason: expired long ago',
      ].join('\n'),
    );
    const r = await cli(['scan', 'scan/app:v1', '--fail-on', 'CRITICAL', '--ignore', 'ignore.yaml', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CRITICAL 0  HIGH 1  MEDIUM 1  LOW 1');
    expect(r.stdout).toContain(
      'ignored (1):\n  CVE-2024-0002 CRITICAL bash until 2999-12-31 — not reachable from the service',
    );
    expect(r.stderr).toContain(
      'the ignore for cve-2024-0003 (libc6) expired on 2020-01-01: it no longer applies and the finding is reported again',
    );
    const high = await cli(['scan', 'scan/app:v1', '--fail-on', 'HIGH', '--ignore', 'ignore.yaml', ...FAST]);
    expect(high.code).toBe(4);
    expect(high.stderr).toContain('1 finding at or above HIGH');
    expect(high.stderr).toContain('CVE-2024-0001 HIGH openssl');
  });

  it('refuses a bad ignore file (exit 3) and an unknown severity (exit 2) before scanning', async () => {
    writeFileSync(
      path.join(tmp.dir, 'bad-ignore.json'),
      JSON.stringify([{ id: 'CVE-1' }, { package: 'x', expires: 'soon' }]),
    );
    const bad = await cli(['scan', 'scan/app:v1', '--ignore', 'bad-ignore.json']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('package is required, since ignores match by id and package');
    expect(bad.stderr).toContain('expires "soon" is not a date');
    const sev = await cli(['scan', 'scan/app:v1', '--fail-on', 'SEVERE']);
    expect(sev.code).toBe(2);
    expect(sev.stderr).toContain('use one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL');
  });
});

describe('ecrctl scan --format', () => {
  it('json is the findings model, read across every page', async () => {
    const before = server.calls.filter((c) => c === 'ecr:DescribeImageScanFindings').length;
    const r = await cli(['scan', 'scan/app:paged', '--wait', '--format', 'json', ...FAST], {
      ECRCTL_SCAN_PAGE_SIZE: '2',
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.images).toHaveLength(1);
    expect(report.images[0]?.findings.map((f) => f.id)).toEqual([
      'CVE-2024-0002',
      'CVE-2024-0001',
      'CVE-2024-0003',
      'CVE-2024-0004',
      'CVE-2024-0005',
    ]);
    expect(report.images[0]?.findings[1]).toEqual({
      id: 'CVE-2024-0001',
      severity: 'HIGH',
      package: 'openssl',
      version: '3.0.9-1',
      score: 7.5,
      description: 'openssl overflow',
      uri: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
    });
    // 5 findings in pages of 2: the final read alone takes 3 calls (the wait may take none
    // more: the scan's duration can have passed before it starts).
    expect(server.calls.filter((c) => c === 'ecr:DescribeImageScanFindings').length - before).toBeGreaterThanOrEqual(3);
  });

  it('sarif is SARIF 2.1.0 in the shape GitHub code scanning takes', async () => {
    const r = await cli(['scan', 'scan/app:v1', '--format', 'sarif', '--sarif-uri', 'Dockerfile', ...FAST]);
    expect(r.code).toBe(0);
    const log = JSON.parse(r.stdout) as {
      version: string;
      $schema: string;
      runs: {
        tool: {
          driver: {
            name: string;
            version: string;
            rules: { id: string; properties: Record<string, unknown>; shortDescription: { text: string } }[];
          };
        };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
        }[];
      }[];
    };
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    // The OASIS SARIF 2.1.0 schema (draft-04), as shipped by @microsoft/jest-sarif.
    const validate = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false }).compile(
      JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')),
    );
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('ecrctl');
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual([
      'CVE-2024-0002',
      'CVE-2024-0001',
      'CVE-2024-0003',
      'CVE-2024-0004',
      'CVE-2024-0005',
    ]);
    expect(run.tool.driver.rules[1]?.properties['security-severity']).toBe('7.5');
    expect(run.results.map((x) => [x.ruleId, x.level])).toEqual([
      ['CVE-2024-0002', 'error'],
      ['CVE-2024-0001', 'error'],
      ['CVE-2024-0003', 'warning'],
      ['CVE-2024-0004', 'note'],
      ['CVE-2024-0005', 'note'],
    ]);
    for (const [i, res] of run.results.entries()) {
      expect(run.tool.driver.rules[res.ruleIndex]?.id).toBe(res.ruleId);
      expect(res.message.text).toContain(res.ruleId);
      expect(res.locations[0]?.physicalLocation.artifactLocation.uri).toBe('Dockerfile');
      expect(res.locations[0]?.physicalLocation.region.startLine).toBe(1);
      expect(i).toBeLessThan(5);
    }
  });
});

describe('ecrctl scan: indexes, enhanced scanning, failures', () => {
  it('scans an index platform by platform and reports each', async () => {
    const r = await cli(['scan', 'scan/multi:v1', '--wait', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'scan/multi:v1 is an image index: scanning its 2 platforms one by one (linux/amd64, linux/arm64/v8)',
    );
    expect(r.stdout).toMatch(/^scan\/multi@sha256:[0-9a-f]{64} \(linux\/amd64\): COMPLETE/m);
    expect(r.stdout).toMatch(/^scan\/multi@sha256:[0-9a-f]{64} \(linux\/arm64\/v8\): COMPLETE/m);
    const json = await cli(['scan', 'scan/multi:v1', '--format', 'json', '--fail-on', 'HIGH', ...FAST]);
    expect(json.code).toBe(4);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.images.map((i) => [i.platform, i.findings.map((f) => f.id)])).toEqual([
      ['linux/amd64', ['CVE-2024-0002', 'CVE-2024-0001', 'CVE-2024-0003', 'CVE-2024-0004', 'CVE-2024-0005']],
      ['linux/arm64/v8', ['CVE-2024-0009']],
    ]);
    expect(json.stderr).toContain('CVE-2024-0009 HIGH musl 1.2.4-r1 (linux/arm64/v8)');
  });

  it('reads enhanced findings (ACTIVE, with fixed-in versions) into the same model', async () => {
    const set = await cli(['scan', 'config', 'set', '--type', 'ENHANCED', '--rule', 'CONTINUOUS_SCAN:enh/*']);
    expect(set.code).toBe(0);
    try {
      const r = await cli(['scan', 'enh/app:v1', '--wait', '--format', 'json', ...FAST]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as JsonReport;
      expect(report.images[0]?.status).toBe('ACTIVE');
      expect(report.images[0]?.scanType).toBe('ENHANCED');
      expect(report.images[0]?.findings.find((f) => f.id === 'CVE-2024-0001')).toMatchObject({
        package: 'openssl',
        version: '3.0.9-1',
        fixedIn: '3.0.11-1~deb12u2',
        score: 7.5,
        severity: 'HIGH',
      });
      expect(report.images[0]?.findings.find((f) => f.id === 'CVE-2024-0002')?.fixedIn).toBeUndefined();
      const table = await cli(['scan', 'enh/app:v1', '--wait', ...FAST]);
      expect(table.stdout).toMatch(/: ACTIVE \(enhanced\)/);
      expect(table.stdout).toMatch(/HIGH\s+CVE-2024-0001\s+openssl\s+3\.0\.9-1\s+3\.0\.11-1~deb12u2\s+7\.5/);
    } finally {
      await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [] }));
    }
  });

  it('exits 1 with a message for FAILED and UNSUPPORTED_IMAGE', async () => {
    const failed = await cli(['scan', 'scan/odd:broken', '--wait', ...FAST]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('the scan failed');
    expect(failed.stderr).toContain('ScanFailed: layer sha256:');
    expect(failed.stdout).toContain(': FAILED');
    const unsupported = await cli(['scan', 'scan/odd:scratch', '--wait', ...FAST]);
    expect(unsupported.code).toBe(1);
    expect(unsupported.stderr).toContain("ECR cannot scan this image's operating system or package manager");
    expect(unsupported.stderr).toContain('UnsupportedImageError');
  });

  it('exits 1 when --timeout passes before the scan ends', async () => {
    // An endpoint whose scans take ECR's 5 s (the suite's one takes 500 ms, which a loaded
    // machine's first read can already find finished).
    const slow = await start(path.join(tmp.dir, 'data-slow'), { stateDelayScale: 1 });
    let r: CliResult;
    try {
      const client = ecrClient(slow);
      await client.send(new CreateRepositoryCommand({ repositoryName: 'scan/odd' }));
      await pushImage(client, 'scan/odd', [DEBIAN], { tag: 'slow' });
      r = await runCli(
        ['--endpoint-url', slow.url, 'scan', 'scan/odd:slow', '--wait', '--timeout', '100ms', '--poll-interval', '1s'],
        {
          cwd: tmp.dir,
          env: { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', HOME: home },
        },
      );
    } finally {
      await slow.close();
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('timed out after 100ms waiting for the scan of scan/odd:slow (still IN_PROGRESS)');
    expect(r.stderr).toContain('--timeout');
  });

  it('refuses a reference outside ECR when no endpoint is set', async () => {
    const r = await runCli(['scan', 'docker.io/library/alpine:3'], { env: { AWS_REGION: 'us-east-1', HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not name a private ECR registry');
  });
});

describe('ecrctl scan config', () => {
  it('checks the limits locally: at most 2 rules, wildcard filters, CONTINUOUS_SCAN only with ENHANCED', async () => {
    const three = await cli([
      'scan',
      'config',
      'set',
      '--type',
      'ENHANCED',
      '--rule',
      'MANUAL:*',
      '--rule',
      'SCAN_ON_PUSH:a*',
      '--rule',
      'CONTINUOUS_SCAN:b*',
    ]);
    expect(three.code).toBe(3);
    expect(three.stderr).toContain('3 rules given; a registry has at most 2');
    const filter = await cli(['scan', 'config', 'set', '--type', 'BASIC', '--rule', 'SCAN_ON_PUSH:Prod/*,ok-*']);
    expect(filter.code).toBe(3);
    expect(filter.stderr).toContain('filter "Prod/*" is not a wildcard filter');
    const basic = await cli(['scan', 'config', 'set', '--type', 'BASIC', '--rule', 'CONTINUOUS_SCAN:*']);
    expect(basic.code).toBe(3);
    expect(basic.stderr).toContain('CONTINUOUS_SCAN needs ENHANCED scanning');
    const syntax = await cli(['scan', 'config', 'set', '--rule', 'SCAN_ON_PUSH']);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('--rule takes FREQUENCY:FILTER[,FILTER]');
    expect(server.calls.filter((c) => c === 'ecr:PutRegistryScanningConfiguration')).toHaveLength(2);
  });

  it('sets and gets the configuration', async () => {
    const set = await cli(['scan', 'config', 'set', '--type', 'BASIC', '--rule', 'SCAN_ON_PUSH:prod-*,team/*']);
    expect(set.code).toBe(0);
    const got = await cli(['scan', 'config', 'get']);
    expect(got.code).toBe(0);
    expect(got.stdout).toBe('scan type: BASIC\nrules:\n  SCAN_ON_PUSH  prod-*, team/*\n');
    const json = await cli(['--output', 'json', 'scan', 'config', 'get']);
    expect(JSON.parse(json.stdout)).toEqual({
      scanType: 'BASIC',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', filters: ['prod-*', 'team/*'] }],
    });
    await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [] }));
  });
});

// Image scanning on the local endpoint, through the AWS SDK: StartImageScan and its 24-hour
// limit, DescribeImageScanFindings (IN_PROGRESS first, then COMPLETE / ACTIVE; basic and
// enhanced shapes; pages), scan on push, the registry scanning configuration, and the
// scanner itself (dpkg and apk databases, version order, broken layers).
import path from 'node:path';
import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  GetRegistryScanningConfigurationCommand,
  CreateRepositoryCommand,
  PutRegistryScanningConfigurationCommand,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareVersions, parseApkInstalled, parseDpkgStatus } from '../../src/local/scanner.js';
import type { LocalServer } from '../../src/local/server.js';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';
import { ecrClient, start, tempDir } from './helpers.js';
import { apkInstalled, dpkgStatus, pushImage, pushIndex, writeAdvisories } from './scanning-fixtures.js';

let server: LocalServer;
let ecr: ECRClient;
let tmp: { dir: string; remove: () => void };

const ADVISORIES = [
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
  { id: 'CVE-2024-0003', package: 'zlib1g', ecosystem: 'deb', fixedIn: '1:1.2.12', severity: 'MEDIUM' },
  { id: 'CVE-2024-0004', package: 'musl', ecosystem: 'apk', fixedIn: '1.2.4-r2', severity: 'LOW', score: 3.1 },
  { id: 'CVE-2024-0005', package: 'openssl', ecosystem: 'apk', affectedBelow: '3.1.0-r0', severity: 'MEDIUM' },
] as const;

beforeAll(async () => {
  tmp = tempDir('ecrctl-scanning-');
  const advisories = path.join(tmp.dir, 'advisories.json');
  writeAdvisories(advisories, [...ADVISORIES]);
  server = await start(path.join(tmp.dir, 'data'), { advisoriesFile: advisories });
  ecr = ecrClient(server);
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

const DEBIAN = {
  'var/lib/dpkg/status': dpkgStatus([
    ['openssl', '3.0.9-1'],
    ['bash', '5.2.15-2'],
    ['zlib1g', '1:1.2.13.dfsg-1'],
    ['tzdata', '2024a-0'],
  ]),
};

async function createRepo(name: string, scanOnPush = false): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name, imageScanningConfiguration: { scanOnPush } }));
}

async function findings(
  repo: string,
  id: { imageTag?: string; imageDigest?: string },
  maxResults?: number,
  nextToken?: string,
) {
  return ecr.send(
    new DescribeImageScanFindingsCommand({
      repositoryName: repo,
      imageId: id,
      ...(maxResults ? { maxResults } : {}),
      ...(nextToken ? { nextToken } : {}),
    }),
  );
}

/** Moves the endpoint's clock past a scan's duration (scans end with time, not with reads). */
function scanTimePasses(): void {
  server.advanceClock(STATE_DELAYS_MS.scan);
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}

describe('StartImageScan and DescribeImageScanFindings (basic)', () => {
  it('reports IN_PROGRESS on the first describe, then COMPLETE with the findings that apply', async () => {
    await createRepo('scan/debian');
    const img = await pushImage(ecr, 'scan/debian', [{ 'etc/hostname': 'x\n' }, DEBIAN], { tag: 'v1' });
    expect(await errorOf(findings('scan/debian', { imageTag: 'v1' }))).toMatchObject({ name: 'ScanNotFoundException' });

    const started = await ecr.send(
      new StartImageScanCommand({ repositoryName: 'scan/debian', imageId: { imageTag: 'v1' } }),
    );
    expect(started.imageScanStatus?.status).toBe('IN_PROGRESS');
    expect(started.imageId).toEqual({ imageDigest: img.digest, imageTag: 'v1' });

    const first = await findings('scan/debian', { imageTag: 'v1' });
    expect(first.imageScanStatus?.status).toBe('IN_PROGRESS');
    expect(first.imageScanFindings).toBeUndefined();

    scanTimePasses();
    const done = await findings('scan/debian', { imageDigest: img.digest });
    expect(done.imageScanStatus).toEqual({ status: 'COMPLETE', description: 'The scan was completed successfully.' });
    const f = done.imageScanFindings!;
    expect(f.findingSeverityCounts).toEqual({ CRITICAL: 1, HIGH: 1 });
    expect(f.enhancedFindings).toBeUndefined();
    expect(f.imageScanCompletedAt).toBeInstanceOf(Date);
    expect(f.findings).toEqual([
      {
        name: 'CVE-2024-0002',
        description: 'bash, no fix yet',
        severity: 'CRITICAL',
        attributes: [
          { key: 'package_version', value: '5.2.15-2' },
          { key: 'package_name', value: 'bash' },
          { key: 'CVSS3_SCORE', value: '9.8' },
        ],
      },
      {
        name: 'CVE-2024-0001',
        description: 'openssl overflow',
        uri: 'https://security-tracker.debian.org/tracker/CVE-2024-0001',
        severity: 'HIGH',
        attributes: [
          { key: 'package_version', value: '3.0.9-1' },
          { key: 'package_name', value: 'openssl' },
          { key: 'CVSS3_SCORE', value: '7.5' },
        ],
      },
    ]);

    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'scan/debian' }));
    expect(images.imageDetails?.[0]?.imageScanStatus?.status).toBe('COMPLETE');
    expect(images.imageDetails?.[0]?.imageScanFindingsSummary?.findingSeverityCounts).toEqual({ CRITICAL: 1, HIGH: 1 });
  });

  it('refuses a second scan of the same image within 24 hours with ECR’s LimitExceededException', async () => {
    const e = await errorOf(
      ecr.send(new StartImageScanCommand({ repositoryName: 'scan/debian', imageId: { imageTag: 'v1' } })),
    );
    expect(e).toEqual({
      name: 'LimitExceededException',
      message: 'The scan quota per image has been exceeded. Wait and try again.',
    });
  });

  it('refuses to scan an image index, and unknown images', async () => {
    await createRepo('scan/multi');
    const amd = await pushImage(ecr, 'scan/multi', [DEBIAN], { arch: 'amd64' });
    const arm = await pushImage(ecr, 'scan/multi', [DEBIAN], { arch: 'arm64', label: 'arm' });
    await pushIndex(
      ecr,
      'scan/multi',
      [
        { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
        { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
      ],
      'v1',
    );
    const e = await errorOf(
      ecr.send(new StartImageScanCommand({ repositoryName: 'scan/multi', imageId: { imageTag: 'v1' } })),
    );
    expect(e.name).toBe('UnsupportedImageTypeException');
    expect(e.message).toContain('scanning an index is not supported');
    const missing = await errorOf(
      ecr.send(new StartImageScanCommand({ repositoryName: 'scan/multi', imageId: { imageTag: 'nope' } })),
    );
    expect(missing.name).toBe('ImageNotFoundException');
    // The images of the index scan one by one.
    const child = await ecr.send(
      new StartImageScanCommand({ repositoryName: 'scan/multi', imageId: { imageDigest: arm.digest } }),
    );
    expect(child.imageScanStatus?.status).toBe('IN_PROGRESS');
  });

  it('pages findings with maxResults and nextToken, and refuses maxResults over 1000', async () => {
    const advisories = path.join(tmp.dir, 'many.json');
    const pkgs: [string, string][] = Array.from({ length: 25 }, (_, i) => [
      `lib${String(i).padStart(2, '0')}`,
      '1.0-1',
    ]);
    writeAdvisories(
      advisories,
      pkgs.map(([name], i) => ({
        id: `CVE-2030-${1000 + i}`,
        package: name,
        ecosystem: 'deb',
        fixedIn: '2.0',
        severity: ['LOW', 'MEDIUM', 'HIGH'][i % 3] as string,
      })),
    );
    // Paging is what this tests, not the scan's duration: outcomes show at once.
    const own = await start(path.join(tmp.dir, 'data-many'), { advisoriesFile: advisories, stateDelayScale: 0 });
    try {
      const c = ecrClient(own);
      await c.send(new CreateRepositoryCommand({ repositoryName: 'many' }));
      await pushImage(c, 'many', [{ 'var/lib/dpkg/status': dpkgStatus(pkgs) }], { tag: 'v1' });
      await c.send(new StartImageScanCommand({ repositoryName: 'many', imageId: { imageTag: 'v1' } }));
      await c.send(new DescribeImageScanFindingsCommand({ repositoryName: 'many', imageId: { imageTag: 'v1' } }));
      const pages: DescribeImageScanFindingsCommandOutput[] = [];
      let token: string | undefined;
      do {
        const p = await c.send(
          new DescribeImageScanFindingsCommand({
            repositoryName: 'many',
            imageId: { imageTag: 'v1' },
            maxResults: 10,
            ...(token ? { nextToken: token } : {}),
          }),
        );
        pages.push(p);
        token = p.nextToken;
      } while (token);
      expect(pages.map((p) => p.imageScanFindings?.findings?.length)).toEqual([10, 10, 5]);
      const names = pages.flatMap((p) => p.imageScanFindings?.findings?.map((f) => f.name) ?? []);
      expect(new Set(names).size).toBe(25);
      // Every page carries the counts of the whole scan; findings come most severe first.
      expect(pages[2]?.imageScanFindings?.findingSeverityCounts).toEqual({ HIGH: 8, MEDIUM: 8, LOW: 9 });
      expect(pages[0]?.imageScanFindings?.findings?.[0]?.severity).toBe('HIGH');
      expect(pages[2]?.imageScanFindings?.findings?.at(-1)?.severity).toBe('LOW');
      const tooMany = await errorOf(
        c.send(
          new DescribeImageScanFindingsCommand({
            repositoryName: 'many',
            imageId: { imageTag: 'v1' },
            maxResults: 1001,
          }),
        ),
      );
      expect(tooMany.name).toBe('InvalidParameterException');
    } finally {
      await own.close();
    }
  });

  it('reads Alpine databases, where a later layer replaces an earlier copy', async () => {
    await createRepo('scan/alpine');
    await pushImage(
      ecr,
      'scan/alpine',
      [
        {
          'lib/apk/db/installed': apkInstalled([
            ['musl', '1.2.4-r0'],
            ['openssl', '3.0.8-r0'],
          ]),
        },
        {
          './lib/apk/db/installed': apkInstalled([
            ['musl', '1.2.4-r1'],
            ['openssl', '3.1.4-r0'],
          ]),
        },
      ],
      { tag: 'v1', gzip: false },
    );
    await ecr.send(new StartImageScanCommand({ repositoryName: 'scan/alpine', imageId: { imageTag: 'v1' } }));
    await findings('scan/alpine', { imageTag: 'v1' });
    scanTimePasses();
    const done = await findings('scan/alpine', { imageTag: 'v1' });
    expect(
      done.imageScanFindings?.findings?.map((f) => [
        f.name,
        f.attributes?.find((a) => a.key === 'package_version')?.value,
      ]),
    ).toEqual([['CVE-2024-0004', '1.2.4-r1']]);
  });

  it('ends UNSUPPORTED_IMAGE without a package database, FAILED on an unreadable layer', async () => {
    await createRepo('scan/odd');
    await pushImage(ecr, 'scan/odd', [{ 'app/main': 'binary' }], { tag: 'scratch' });
    await pushImage(ecr, 'scan/odd', [Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])], { tag: 'broken' });
    for (const tag of ['scratch', 'broken']) {
      await ecr.send(new StartImageScanCommand({ repositoryName: 'scan/odd', imageId: { imageTag: tag } }));
      await findings('scan/odd', { imageTag: tag });
    }
    scanTimePasses();
    const scratch = await findings('scan/odd', { imageTag: 'scratch' });
    expect(scratch.imageScanStatus).toEqual({
      status: 'UNSUPPORTED_IMAGE',
      description: 'UnsupportedImageError: The operating system and/or package manager are not supported.',
    });
    const broken = await findings('scan/odd', { imageTag: 'broken' });
    expect(broken.imageScanStatus?.status).toBe('FAILED');
    expect(broken.imageScanStatus?.description).toMatch(/^ScanFailed: layer sha256:[0-9a-f]{64} could not be read/);
  });
});

describe('scan on push', () => {
  it('scans images of a scanOnPush repository without StartImageScan, and counts that scan for the 24-hour limit', async () => {
    await createRepo('scan/onpush', true);
    await pushImage(ecr, 'scan/onpush', [DEBIAN], { tag: 'v1' });
    const listed = await ecr.send(new DescribeImagesCommand({ repositoryName: 'scan/onpush' }));
    expect(listed.imageDetails?.[0]?.imageScanStatus?.status).toBeDefined();
    expect((await findings('scan/onpush', { imageTag: 'v1' })).imageScanStatus?.status).toBe('IN_PROGRESS');
    scanTimePasses();
    expect((await findings('scan/onpush', { imageTag: 'v1' })).imageScanFindings?.findingSeverityCounts).toEqual({
      CRITICAL: 1,
      HIGH: 1,
    });
    const e = await errorOf(
      ecr.send(new StartImageScanCommand({ repositoryName: 'scan/onpush', imageId: { imageTag: 'v1' } })),
    );
    expect(e.name).toBe('LimitExceededException');
  });
});

describe('registry scanning configuration and enhanced scanning', () => {
  it('checks rules as ECR does: at most 2, WILDCARD filters, CONTINUOUS_SCAN only for ENHANCED', async () => {
    const rule = (scanFrequency: 'SCAN_ON_PUSH' | 'CONTINUOUS_SCAN' | 'MANUAL', filter = '*') => ({
      scanFrequency,
      repositoryFilters: [{ filter, filterType: 'WILDCARD' as const }],
    });
    expect((await ecr.send(new GetRegistryScanningConfigurationCommand({}))).scanningConfiguration).toEqual({
      scanType: 'BASIC',
      rules: [],
    });
    const three = await errorOf(
      ecr.send(
        new PutRegistryScanningConfigurationCommand({
          scanType: 'ENHANCED',
          rules: [rule('MANUAL'), rule('MANUAL'), rule('MANUAL')],
        }),
      ),
    );
    expect(three).toMatchObject({ name: 'InvalidParameterException' });
    expect(three.message).toContain(
      "'rules' failed to satisfy constraint: 'Member must have length less than or equal to 2'",
    );
    const continuous = await errorOf(
      ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [rule('CONTINUOUS_SCAN')] })),
    );
    expect(continuous.name).toBe('ValidationException');
    const badFilter = await errorOf(
      ecr.send(
        new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [rule('SCAN_ON_PUSH', 'Prod/*')] }),
      ),
    );
    expect(badFilter.name).toBe('InvalidParameterException');
  });

  it('answers enhancedFindings and ACTIVE once the registry is ENHANCED with a covering rule', async () => {
    await ecr.send(
      new PutRegistryScanningConfigurationCommand({
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: 'scan/enh*', filterType: 'WILDCARD' }] },
        ],
      }),
    );
    try {
      const got = await ecr.send(new GetRegistryScanningConfigurationCommand({}));
      expect(got.scanningConfiguration?.scanType).toBe('ENHANCED');
      await createRepo('scan/enhanced');
      const img = await pushImage(ecr, 'scan/enhanced', [DEBIAN], { tag: 'v1' });
      const manual = await errorOf(
        ecr.send(new StartImageScanCommand({ repositoryName: 'scan/enhanced', imageId: { imageTag: 'v1' } })),
      );
      expect(manual.name).toBe('ValidationException');
      expect((await findings('scan/enhanced', { imageTag: 'v1' })).imageScanStatus?.status).toBe('IN_PROGRESS');
      scanTimePasses();
      const done = await findings('scan/enhanced', { imageTag: 'v1' });
      expect(done.imageScanStatus?.status).toBe('ACTIVE');
      expect(done.imageScanFindings?.findings).toBeUndefined();
      const enhanced = done.imageScanFindings?.enhancedFindings ?? [];
      expect(enhanced.map((f) => [f.packageVulnerabilityDetails?.vulnerabilityId, f.severity, f.fixAvailable])).toEqual(
        [
          ['CVE-2024-0002', 'CRITICAL', 'NO'],
          ['CVE-2024-0001', 'HIGH', 'YES'],
        ],
      );
      const openssl = enhanced[1]!;
      expect(openssl.score).toBe(7.5);
      expect(openssl.packageVulnerabilityDetails?.vulnerablePackages?.[0]).toMatchObject({
        name: 'openssl',
        version: '3.0.9',
        release: '1',
        epoch: 0,
        fixedInVersion: '3.0.11-1~deb12u2',
        packageManager: 'OS',
        arch: 'amd64',
      });
      expect(openssl.remediation?.recommendation?.text).toBe('Upgrade openssl to version 3.0.11-1~deb12u2 or later.');
      expect(openssl.resources?.[0]?.details?.awsEcrContainerImage?.imageHash).toBe(img.digest);
      // An uncovered repository is not scanned under ENHANCED.
      await createRepo('scan/other');
      await pushImage(ecr, 'scan/other', [DEBIAN], { tag: 'v1' });
      expect((await errorOf(findings('scan/other', { imageTag: 'v1' }))).name).toBe('ScanNotFoundException');
    } finally {
      await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC', rules: [] }));
    }
  });
});

describe('the scanner', () => {
  it.each([
    ['1.0', '1.0', 0],
    ['1.0', '1.0-1', -1],
    ['1.0~rc1', '1.0', -1],
    ['1.0-1', '1.0-1~deb12u1', 1],
    ['3.0.9-1', '3.0.11-1~deb12u2', -1],
    ['1:1.2.13.dfsg-1', '1:1.2.12', 1],
    ['1:0.1', '2.0', 1],
    ['1.2.4-r1', '1.2.4-r2', -1],
    ['1.2.10', '1.2.9', 1],
    ['2024a-0', '2024a-0', 0],
    ['1.0a', '1.0', 1],
    ['1.0+b1', '1.0', 1],
  ])('compares %s with %s as %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(0 - expected);
  });

  it('reads dpkg stanzas (skipping packages not installed) and apk records', () => {
    const status = `${dpkgStatus([['a', '1.0']])}\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 2.0\n`;
    expect(parseDpkgStatus(status, 'sha256:l').map((p) => `${p.name}=${p.version}`)).toEqual(['a=1.0']);
    expect(
      parseApkInstalled(
        apkInstalled([
          ['musl', '1.2.4-r1'],
          ['zlib', '1.3-r0'],
        ]),
        'sha256:l',
      ).map((p) => `${p.name}=${p.version}/${p.arch}`),
    ).toEqual(['musl=1.2.4-r1/x86_64', 'zlib=1.3-r0/x86_64']);
  });
});

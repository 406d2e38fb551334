// The pure scan rules: severity order, the ignore list (id AND package, expiry at the end of
// the day), thresholds, durations, the scanning configuration checks, and SARIF 2.1.0.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleViolation, UsageError } from '../../src/errors.js';
import {
  applyIgnores,
  countBySeverity,
  type Finding,
  findingsAtOrAbove,
  parseDuration,
  parseIgnoreList,
  parseScanningRule,
  parseSeverity,
  renderSarif,
  SEVERITIES,
  type ScanReport,
  scanningConfigProblems,
  severityRank,
  sortFindings,
  wildcardMatches,
} from '../../src/policy/scan.js';

const F = (id: string, severity: Finding['severity'], pkg?: string, extra: Partial<Finding> = {}): Finding => ({
  id,
  severity,
  ...(pkg ? { package: pkg } : {}),
  ...extra,
});

describe('severities', () => {
  it('ranks CRITICAL > HIGH > MEDIUM > LOW > INFORMATIONAL > UNDEFINED', () => {
    expect(SEVERITIES.map(severityRank)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it.each([
    ['HIGH', ['CRITICAL', 'HIGH']],
    ['critical', ['CRITICAL']],
    ['LOW', ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']],
    ['INFORMATIONAL', ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL']],
  ])('--fail-on %s trips on %j (never on UNDEFINED)', (threshold, expected) => {
    const all = SEVERITIES.map((s) => F(`CVE-${s}`, s));
    expect(findingsAtOrAbove(all, parseSeverity(threshold)).map((f) => f.severity)).toEqual(expected);
  });

  it('refuses an unknown severity with the choices', () => {
    expect(() => parseSeverity('SEVERE')).toThrow(UsageError);
  });

  it('sorts any findings most severe first, keeping every finding (property)', () => {
    const finding = fc.record({
      id: fc.stringMatching(/^CVE-20[0-9]{2}-[0-9]{4}$/),
      severity: fc.constantFrom(...SEVERITIES),
      package: fc.constantFrom('a', 'b', 'openssl'),
      score: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(finding, { maxLength: 40 }), (raw) => {
        const findings = raw.map((r) =>
          F(r.id, r.severity, r.package, r.score === undefined ? {} : { score: r.score }),
        );
        const sorted = sortFindings(findings);
        expect(sorted).toHaveLength(findings.length);
        for (let i = 1; i < sorted.length; i++) {
          expect(severityRank(sorted[i - 1]!.severity)).toBeGreaterThanOrEqual(severityRank(sorted[i]!.severity));
        }
        const counts = countBySeverity(findings);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(findings.length);
      }),
    );
  });
});

describe('the ignore list', () => {
  const findings = [
    F('CVE-2024-1', 'CRITICAL', 'openssl'),
    F('CVE-2024-1', 'CRITICAL', 'libssl3'),
    F('CVE-2024-2', 'HIGH', 'bash'),
  ];

  it('reads YAML and JSON alike', () => {
    const yaml = parseIgnoreList(
      '- id: CVE-2024-1\n  package: openssl\n  expires: 2025-06-30\n  reason: not reachable\n',
      'i.yaml',
    );
    const json = parseIgnoreList(
      JSON.stringify({
        ignore: [{ id: 'CVE-2024-1', package: 'openssl', expires: '2025-06-30', reason: 'not reachable' }],
      }),
      'i.json',
    );
    expect(yaml).toEqual(json);
    expect(yaml).toEqual([{ id: 'CVE-2024-1', package: 'openssl', expires: '2025-06-30', reason: 'not reachable' }]);
    expect(parseIgnoreList('', 'empty.yaml')).toEqual([]);
  });

  it('lists every problem of a bad file', () => {
    try {
      parseIgnoreList(
        '- id: CVE-1\n- package: x\n  expires: soon\n- 3\n- id: CVE-2\n  package: y\n  severity: HIGH\n',
        'bad.yaml',
      );
      throw new Error('expected a RuleViolation');
    } catch (err) {
      expect(err).toBeInstanceOf(RuleViolation);
      expect((err as RuleViolation).problems).toEqual([
        'entry 1 (CVE-1): package is required, since ignores match by id and package',
        'entry 2: id is required (the finding id, e.g. CVE-2024-1234)',
        'entry 2: expires "soon" is not a date (write YYYY-MM-DD)',
        'entry 3: must be a mapping with id and package',
        'entry 4: unknown field "severity"',
      ]);
    }
  });

  it('matches by id AND package, not by id alone and not by severity', () => {
    const out = applyIgnores(
      findings,
      [
        { id: 'cve-2024-1', package: 'openssl' },
        { id: 'CVE-2024-9', package: 'bash' },
      ],
      new Date('2025-01-01T00:00:00Z'),
    );
    expect(out.ignored.map((i) => `${i.finding.id}/${i.finding.package}`)).toEqual(['CVE-2024-1/openssl']);
    expect(out.findings.map((f) => `${f.id}/${f.package}`)).toEqual(['CVE-2024-1/libssl3', 'CVE-2024-2/bash']);
    expect(out.unused).toEqual([{ id: 'CVE-2024-9', package: 'bash' }]);
  });

  it.each([
    ['2025-06-30T23:59:59.000Z', false],
    ['2025-07-01T00:00:00.000Z', true],
  ])('an entry expiring 2025-06-30 has expired at %s: %s', (now, expired) => {
    const out = applyIgnores(findings, [{ id: 'CVE-2024-2', package: 'bash', expires: '2025-06-30' }], new Date(now));
    expect(out.expired.length === 1).toBe(expired);
    expect(out.ignored.length === 1).toBe(!expired);
  });

  it('partitions findings: kept + ignored = all (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.constantFrom('A', 'B', 'C'), pkg: fc.constantFrom('x', 'y') }), { maxLength: 20 }),
        fc.array(
          fc.record({ id: fc.constantFrom('A', 'B', 'C'), pkg: fc.constantFrom('x', 'y'), expired: fc.boolean() }),
          { maxLength: 5 },
        ),
        (fs, es) => {
          const list = fs.map((f) => F(f.id, 'HIGH', f.pkg));
          const entries = es.map((e) => ({
            id: e.id,
            package: e.pkg,
            expires: e.expired ? '2020-01-01' : '2999-01-01',
          }));
          const out = applyIgnores(list, entries, new Date('2025-01-01T00:00:00Z'));
          expect(out.findings.length + out.ignored.length).toBe(list.length);
          for (const { finding, entry } of out.ignored) {
            expect([finding.id, finding.package]).toEqual([entry.id, entry.package]);
            expect(entry.expires).toBe('2999-01-01');
          }
        },
      ),
    );
  });
});

describe('durations and the scanning configuration', () => {
  it.each([
    ['10m', 600_000],
    ['30s', 30_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['45', 45_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it('refuses a bad duration', () => {
    expect(() => parseDuration('ten minutes', '--timeout')).toThrow(UsageError);
  });

  it.each([
    ['*', 'team/app', true],
    ['prod-*', 'prod-api', true],
    ['prod-*', 'team/prod-api', false],
    ['team/*', 'team/a/b', true],
    ['app', 'app', true],
    ['app', 'app2', false],
  ])('wildcard %s matches %s: %s', (filter, name, expected) => {
    expect(wildcardMatches(filter, name)).toBe(expected);
  });

  it('reports each problem of a configuration', () => {
    expect(
      scanningConfigProblems({
        scanType: 'ENHANCED',
        rules: [parseScanningRule('CONTINUOUS_SCAN:prod-*,team/*'), parseScanningRule('scan_on_push:*')],
      }),
    ).toEqual([]);
    expect(
      scanningConfigProblems({
        scanType: 'BASIC',
        rules: [parseScanningRule('CONTINUOUS_SCAN:*'), parseScanningRule('DAILY:Prod'), parseScanningRule('MANUAL:,')],
      }),
    ).toEqual([
      '3 rules given; a registry has at most 2',
      'rule 1: CONTINUOUS_SCAN needs ENHANCED scanning (basic scanning is on push or manual)',
      'rule 2: frequency "DAILY" is not one of SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL',
      'rule 2: filter "Prod" is not a wildcard filter (lowercase repository characters and *, e.g. prod-* or team/*)',
      'rule 3: needs at least one repository filter (e.g. * for all)',
    ]);
  });
});

describe('SARIF', () => {
  const report: ScanReport = {
    repository: 'team/app',
    reference: 'team/app:v1',
    digest: 'sha256:idx',
    images: [
      {
        platform: 'linux/amd64',
        digest: 'sha256:aaa',
        status: 'COMPLETE',
        scanType: 'BASIC',
        counts: countBySeverity([]),
        findings: [
          F('CVE-1', 'LOW', 'zlib'),
          F('CVE-2', 'CRITICAL', 'openssl', {
            version: '3.0.9',
            fixedIn: '3.0.11',
            uri: 'https://example.test/CVE-2',
            description: 'bad',
          }),
        ],
        ignored: [],
      },
      {
        platform: 'linux/arm64',
        digest: 'sha256:bbb',
        status: 'COMPLETE',
        scanType: 'BASIC',
        counts: countBySeverity([]),
        findings: [F('CVE-2', 'CRITICAL', 'openssl')],
        ignored: [],
      },
    ],
    expiredIgnores: [],
    failing: [],
  };

  it('has the structure SARIF 2.1.0 and GitHub code scanning require', () => {
    const log = renderSarif(report, { toolVersion: '1.2.3' }) as {
      version: string;
      $schema: string;
      runs: {
        tool: {
          driver: {
            name: string;
            version: string;
            rules: {
              id: string;
              shortDescription: { text: string };
              helpUri?: string;
              properties: { 'security-severity': string };
            }[];
          };
        };
        results: Record<string, unknown>[];
      }[];
    };
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0]!;
    expect(run.tool.driver).toMatchObject({ name: 'ecrctl', version: '1.2.3' });
    // One rule per vulnerability id, even when two platforms have it.
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(['CVE-2', 'CVE-1']);
    expect(run.tool.driver.rules[0]).toMatchObject({
      shortDescription: { text: 'CVE-2 in openssl' },
      helpUri: 'https://example.test/CVE-2',
      properties: { 'security-severity': '9.5' },
    });
    expect(run.results).toHaveLength(3);
    for (const res of run.results as {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
    }[]) {
      expect(typeof res.ruleId).toBe('string');
      expect(run.tool.driver.rules[res.ruleIndex]?.id).toBe(res.ruleId);
      expect(['error', 'warning', 'note', 'none']).toContain(res.level);
      expect(res.message.text.length).toBeGreaterThan(0);
      expect(res.locations[0]?.physicalLocation.artifactLocation.uri).toBe('team/app');
    }
    expect((run.results[0] as { message: { text: string } }).message.text).toBe(
      'CVE-2 (CRITICAL) in openssl 3.0.9 (linux/amd64); fixed in 3.0.11. Image team/app@sha256:aaa.',
    );
  });
});

// The scan findings model and the pure rules around it: severity ordering, the ignore list
// (matched by finding id AND package, with expiry), the --fail-on threshold, SARIF 2.1.0,
// durations, and the registry scanning configuration's local checks. No I/O, no clock: the
// time is passed in.
import { parse as parseYaml } from 'yaml';
import { RuleViolation, UsageError } from '../errors.js';

/** Severities as ECR reports them, most severe first (enhanced UNTRIAGED maps to UNDEFINED). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One finding, the same shape for basic `findings[]` and enhanced `enhancedFindings[]`. */
export interface Finding {
  /** The vulnerability id, e.g. CVE-2024-1234. */
  id: string;
  severity: Severity;
  package?: string;
  version?: string;
  /** The first version without the vulnerability, when the source says. */
  fixedIn?: string;
  /** CVSS base score (basic: CVSS2_SCORE / CVSS3_SCORE attribute; enhanced: the Inspector score). */
  score?: number;
  description?: string;
  uri?: string;
}

/** Returns the severity ECR named, normalised (unknown names and UNTRIAGED become UNDEFINED). */
export function normalizeSeverity(text: string | undefined): Severity {
  const up = (text ?? '').toUpperCase();
  return (SEVERITIES as readonly string[]).includes(up) ? (up as Severity) : 'UNDEFINED';
}

/**
 * Returns how severe a severity is: CRITICAL 5 … INFORMATIONAL 1, UNDEFINED 0 (unknown ranks
 * lowest, so `--fail-on LOW` does not trip on findings nobody has rated).
 */
export function severityRank(s: Severity): number {
  return s === 'UNDEFINED' ? 0 : SEVERITIES.length - 1 - SEVERITIES.indexOf(s);
}

/** Returns the severity a --fail-on value names, or throws a UsageError listing the choices. */
export function parseSeverity(text: string, option = '--fail-on'): Exclude<Severity, 'UNDEFINED'> {
  const up = text.trim().toUpperCase();
  const choices = SEVERITIES.filter((s) => s !== 'UNDEFINED');
  if ((choices as readonly string[]).includes(up)) return up as Exclude<Severity, 'UNDEFINED'>;
  throw new UsageError(`${option} takes a severity, not "${text}"`, {
    value: text,
    fix: `use one of ${choices.join(', ')}`,
  });
}

/** Returns findings sorted most severe first, then by score (highest first), id and package. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      (b.score ?? -1) - (a.score ?? -1) ||
      a.id.localeCompare(b.id) ||
      (a.package ?? '').localeCompare(b.package ?? ''),
  );
}

/** Returns the number of findings per severity (every severity present, zeros included). */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** Returns the findings at or above a threshold severity. */
export function findingsAtOrAbove(findings: readonly Finding[], threshold: Severity): Finding[] {
  const min = severityRank(threshold);
  return findings.filter((f) => severityRank(f.severity) >= min);
}

// ---------------------------------------------------------------------------------------
// The ignore list

/** One accepted finding: matched by id AND package, until it expires. */
export interface IgnoreEntry {
  id: string;
  package: string;
  /** The last day (UTC) the entry applies, as written (YYYY-MM-DD or an ISO timestamp). */
  expires?: string;
  reason?: string;
}

/** Returns the moment an entry stops applying: the end of its expiry day, or the timestamp. */
export function ignoreExpiresAt(entry: IgnoreEntry): Date | undefined {
  if (entry.expires === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(entry.expires)) return new Date(`${entry.expires}T23:59:59.999Z`);
  return new Date(entry.expires);
}

/**
 * Returns the entries of an ignore file (YAML or JSON: a list, or `{ignore: [...]}`), or
 * throws a RuleViolation listing every bad entry.
 */
export function parseIgnoreList(text: string, source: string): IgnoreEntry[] {
  let doc: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    doc = parseYaml(text);
  } catch (err) {
    throw new RuleViolation(`${source} is neither YAML nor JSON: ${(err as Error).message.split('\n')[0]}`, {
      value: source,
      fix: 'write a list of {id, package, expires, reason} entries',
      cause: err,
    });
  }
  if (doc === null || doc === undefined) return [];
  const list = Array.isArray(doc) ? doc : (doc as { ignore?: unknown }).ignore;
  if (!Array.isArray(list)) {
    throw new RuleViolation(`${source} must hold a list of ignore entries`, {
      value: source,
      fix: 'write e.g.\n- id: CVE-2024-1234\n  package: openssl\n  expires: 2025-12-31\n  reason: not reachable',
    });
  }
  const problems: string[] = [];
  const entries: IgnoreEntry[] = [];
  list.forEach((raw: unknown, i) => {
    const where = `entry ${i + 1}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${where}: must be a mapping with id and package`);
      return;
    }
    const r = raw as Record<string, unknown>;
    const id = typeof r.id === 'string' ? r.id.trim() : '';
    const pkg = typeof r.package === 'string' ? r.package.trim() : '';
    if (!id) problems.push(`${where}: id is required (the finding id, e.g. CVE-2024-1234)`);
    if (!pkg)
      problems.push(`${where}${id ? ` (${id})` : ''}: package is required, since ignores match by id and package`);
    let expires: string | undefined;
    if (r.expires instanceof Date) expires = r.expires.toISOString().slice(0, 10);
    else if (typeof r.expires === 'string') expires = r.expires.trim();
    else if (r.expires !== undefined && r.expires !== null)
      problems.push(`${where}: expires must be a date like 2025-12-31`);
    if (expires !== undefined && Number.isNaN(ignoreExpiresAt({ id, package: pkg, expires })?.getTime() ?? 0)) {
      problems.push(`${where}: expires "${expires}" is not a date (write YYYY-MM-DD)`);
    }
    if (r.reason !== undefined && typeof r.reason !== 'string') problems.push(`${where}: reason must be text`);
    for (const key of Object.keys(r)) {
      if (!['id', 'package', 'expires', 'reason'].includes(key)) problems.push(`${where}: unknown field "${key}"`);
    }
    if (id && pkg) {
      entries.push({
        id,
        package: pkg,
        ...(expires !== undefined ? { expires } : {}),
        ...(typeof r.reason === 'string' ? { reason: r.reason } : {}),
      });
    }
  });
  if (problems.length > 0) {
    throw new RuleViolation(`${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      problems,
      value: source,
      fix: 'each entry needs id and package; expires (YYYY-MM-DD) and reason are optional',
    });
  }
  return entries;
}

/** What the ignore list did to a set of findings. */
export interface IgnoreOutcome {
  /** Findings still reported. */
  findings: Finding[];
  /** Findings accepted, each with the entry that accepted it. */
  ignored: { finding: Finding; entry: IgnoreEntry }[];
  /** Entries past their expiry: they no longer apply. */
  expired: IgnoreEntry[];
  /** Live entries that matched no finding (fixed, or written for another image). */
  unused: IgnoreEntry[];
}

/** Returns the findings left after the ignore list at time now (matching by id AND package). */
export function applyIgnores(findings: readonly Finding[], entries: readonly IgnoreEntry[], now: Date): IgnoreOutcome {
  const live: IgnoreEntry[] = [];
  const expired: IgnoreEntry[] = [];
  for (const e of entries) {
    const until = ignoreExpiresAt(e);
    if (until !== undefined && until.getTime() < now.getTime()) expired.push(e);
    else live.push(e);
  }
  const used = new Set<IgnoreEntry>();
  const kept: Finding[] = [];
  const ignored: IgnoreOutcome['ignored'] = [];
  for (const f of findings) {
    // Case-insensitive ids (cve- vs CVE-); package names compare exactly, as package managers do.
    const entry = live.find((e) => e.id.toUpperCase() === f.id.toUpperCase() && e.package === f.package);
    if (entry) {
      used.add(entry);
      ignored.push({ finding: f, entry });
    } else {
      kept.push(f);
    }
  }
  return { findings: kept, ignored, expired, unused: live.filter((e) => !used.has(e)) };
}

// ---------------------------------------------------------------------------------------
// Durations

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Returns milliseconds for `500ms`, `30s`, `10m`, `1h` (a bare number is seconds). */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new UsageError(`${option} takes a duration, not "${text}"`, {
      value: text,
      fix: 'write e.g. 30s, 10m, 1h or 500ms',
    });
  }
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number));
}

// ---------------------------------------------------------------------------------------
// Registry scanning configuration

export const SCAN_TYPES = ['BASIC', 'ENHANCED'] as const;
export type ScanType = (typeof SCAN_TYPES)[number];
export const SCAN_FREQUENCIES = ['SCAN_ON_PUSH', 'CONTINUOUS_SCAN', 'MANUAL'] as const;
export type ScanFrequency = (typeof SCAN_FREQUENCIES)[number];
/** ECR's limits: up to 2 rules, up to 100 filters each. */
export const MAX_SCANNING_RULES = 2;
export const MAX_RULE_FILTERS = 100;
/** The ScanningRepositoryFilter pattern of the ECR API model (WILDCARD filters). */
export const SCAN_FILTER_PATTERN = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;

/** One registry scanning rule. */
export interface ScanningRule {
  scanFrequency: ScanFrequency;
  /** WILDCARD filters (`*` matches any characters). */
  filters: string[];
}

/** The registry scanning configuration. */
export interface ScanningConfiguration {
  scanType: ScanType;
  rules: ScanningRule[];
}

/** Returns the problems of a configuration as ECR would refuse it (empty when fine). */
export function scanningConfigProblems(config: ScanningConfiguration): string[] {
  const problems: string[] = [];
  if (!(SCAN_TYPES as readonly string[]).includes(config.scanType)) {
    problems.push(`scan type "${config.scanType}" is not one of ${SCAN_TYPES.join(', ')}`);
  }
  if (config.rules.length > MAX_SCANNING_RULES) {
    problems.push(`${config.rules.length} rules given; a registry has at most ${MAX_SCANNING_RULES}`);
  }
  config.rules.forEach((rule, i) => {
    const where = `rule ${i + 1}`;
    if (!(SCAN_FREQUENCIES as readonly string[]).includes(rule.scanFrequency)) {
      problems.push(`${where}: frequency "${rule.scanFrequency}" is not one of ${SCAN_FREQUENCIES.join(', ')}`);
    } else if (config.scanType === 'BASIC' && rule.scanFrequency === 'CONTINUOUS_SCAN') {
      problems.push(`${where}: CONTINUOUS_SCAN needs ENHANCED scanning (basic scanning is on push or manual)`);
    }
    if (rule.filters.length === 0) problems.push(`${where}: needs at least one repository filter (e.g. * for all)`);
    if (rule.filters.length > MAX_RULE_FILTERS)
      problems.push(`${where}: ${rule.filters.length} filters; at most ${MAX_RULE_FILTERS}`);
    for (const f of rule.filters) {
      if (f.length > 255 || !SCAN_FILTER_PATTERN.test(f)) {
        problems.push(
          `${where}: filter "${f}" is not a wildcard filter (lowercase repository characters and *, e.g. prod-* or team/*)`,
        );
      }
    }
  });
  return problems;
}

/** Returns the rule a `--rule FREQ:FILTER[,FILTER]…` value names (checked later as a whole). */
export function parseScanningRule(text: string): ScanningRule {
  const colon = text.indexOf(':');
  if (colon <= 0) {
    throw new UsageError(`--rule takes FREQUENCY:FILTER[,FILTER]…, not "${text}"`, {
      value: text,
      fix: `e.g. --rule SCAN_ON_PUSH:'*' or --rule CONTINUOUS_SCAN:prod-*,team/*; frequencies: ${SCAN_FREQUENCIES.join(', ')}`,
    });
  }
  return {
    scanFrequency: text.slice(0, colon).trim().toUpperCase() as ScanFrequency,
    filters: text
      .slice(colon + 1)
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== ''),
  };
}

/** Returns true when a WILDCARD filter matches a repository name (`*` = any characters). */
export function wildcardMatches(filter: string, name: string): boolean {
  const re = new RegExp(
    `^${filter
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

// ---------------------------------------------------------------------------------------
// Reports and SARIF

/** The result of scanning one image manifest (one platform of an index, or a single image). */
export interface PlatformReport {
  /** os/arch[/variant] for a child of an index; absent for a single image. */
  platform?: string;
  digest: string;
  status: string;
  statusDescription?: string;
  scanType: 'BASIC' | 'ENHANCED';
  completedAt?: string;
  vulnerabilitySourceUpdatedAt?: string;
  /** Counts after ignores. */
  counts: Record<Severity, number>;
  findings: Finding[];
  ignored: { finding: Finding; entry: IgnoreEntry }[];
}

/** What `ecrctl scan` reports for one reference. */
export interface ScanReport {
  repository: string;
  registryId?: string;
  region?: string;
  reference: string;
  /** The digest the reference resolved to (the index, for a multi-platform image). */
  digest: string;
  images: PlatformReport[];
  expiredIgnores: IgnoreEntry[];
  /** --fail-on, when given. */
  failOn?: Severity;
  /** Findings at or above failOn, across platforms. */
  failing: (Finding & { platform?: string })[];
}

const SECURITY_SEVERITY: Record<Severity, string> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
  INFORMATIONAL: '0.0',
  UNDEFINED: '0.0',
};

/** Returns the SARIF level of a severity (GitHub sorts alerts by these). */
export function sarifLevel(s: Severity): 'error' | 'warning' | 'note' {
  return s === 'CRITICAL' || s === 'HIGH' ? 'error' : s === 'MEDIUM' ? 'warning' : 'note';
}

/**
 * Returns a SARIF 2.1.0 log for a report, in the shape GitHub code scanning accepts: one run,
 * one rule per vulnerability id (with `security-severity`), one result per finding located
 * at artifactUri (the Dockerfile, or the image name when none is given).
 */
export function renderSarif(
  report: ScanReport,
  opts: { toolVersion: string; artifactUri?: string },
): Record<string, unknown> {
  const rules: Record<string, unknown>[] = [];
  const ruleIndex = new Map<string, number>();
  const results: Record<string, unknown>[] = [];
  const uri = opts.artifactUri ?? report.repository;
  for (const image of report.images) {
    for (const f of sortFindings(image.findings)) {
      let index = ruleIndex.get(f.id);
      if (index === undefined) {
        index = rules.length;
        ruleIndex.set(f.id, index);
        const text = f.description ?? f.id;
        rules.push({
          id: f.id,
          name: f.id.replace(/[^A-Za-z0-9]/g, ''),
          shortDescription: { text: `${f.id}${f.package ? ` in ${f.package}` : ''}` },
          fullDescription: { text },
          ...(f.uri ? { helpUri: f.uri } : {}),
          help: {
            text: `${text}${f.fixedIn ? `\nFixed in ${f.package ?? 'the package'} ${f.fixedIn}.` : ''}`,
            markdown: `**${f.id}** (${f.severity})${f.package ? ` in \`${f.package}\`` : ''}\n\n${text}${f.fixedIn ? `\n\nFixed in version \`${f.fixedIn}\`.` : ''}${f.uri ? `\n\n[${f.uri}](${f.uri})` : ''}`,
          },
          defaultConfiguration: { level: sarifLevel(f.severity) },
          properties: {
            tags: ['security', 'vulnerability', f.severity],
            'security-severity': f.score !== undefined ? f.score.toFixed(1) : SECURITY_SEVERITY[f.severity],
            precision: 'very-high',
          },
        });
      }
      const where = image.platform ? ` (${image.platform})` : '';
      results.push({
        ruleId: f.id,
        ruleIndex: index,
        level: sarifLevel(f.severity),
        message: {
          text:
            `${f.id} (${f.severity}) in ${f.package ?? 'a package'}${f.version ? ` ${f.version}` : ''}${where}` +
            `${f.fixedIn ? `; fixed in ${f.fixedIn}` : '; no fix known'}. Image ${report.repository}@${image.digest}.`,
        },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri }, region: { startLine: 1 } },
            message: { text: `${report.repository}@${image.digest}${where}` },
          },
        ],
        partialFingerprints: { 'ecrctl/finding': `${f.id}|${f.package ?? ''}|${image.platform ?? ''}` },
        properties: {
          ...(f.package ? { package: f.package } : {}),
          ...(f.version ? { installedVersion: f.version } : {}),
          ...(f.fixedIn ? { fixedVersion: f.fixedIn } : {}),
          ...(image.platform ? { platform: image.platform } : {}),
          imageDigest: image.digest,
        },
      });
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'ecrctl',
            version: opts.toolVersion,
            semanticVersion: opts.toolVersion,
            rules,
          },
        },
        automationDetails: { id: `ecrctl-scan/${report.repository}/` },
        results,
      },
    ],
  };
}

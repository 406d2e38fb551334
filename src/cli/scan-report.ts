// Prints a scan report (see src/ops/scan.ts) as a table, the JSON findings model, or SARIF
// 2.1.0 for GitHub code scanning; `ecrctl scan` and `tag-push --scan` share it.
import {
  countBySeverity,
  type Finding,
  type PlatformReport,
  renderSarif,
  type ScanReport,
  SEVERITIES,
  type Severity,
} from '../policy/scan.js';
import { VERSION } from '../version.js';
import type { CliContext } from './context.js';
import { render, table, writeJson } from './output.js';

/** Output formats of `ecrctl scan`. */
export type ScanFormat = 'table' | 'json' | 'sarif';

/** Writes the report to ctx.stdout in the format chosen (table follows --output). */
export function printScanReport(
  ctx: CliContext,
  report: ScanReport,
  format: ScanFormat,
  opts: { sarifUri?: string } = {},
): void {
  const out = (s: string) => ctx.stdout.write(ctx.secrets.redact(s));
  if (format === 'sarif') {
    const sarif = renderSarif(report, {
      toolVersion: VERSION,
      ...(opts.sarifUri ? { artifactUri: opts.sarifUri } : {}),
    });
    out(`${JSON.stringify(sarif, null, 2)}\n`);
    return;
  }
  if (format === 'json') {
    writeJson(ctx, report);
    return;
  }
  render(ctx, report, {
    text: (r) => r.images.map((i) => platformText(r, i)).join('\n'),
    env: (r) => {
      const total = countBySeverity(r.images.flatMap((i) => i.findings));
      return {
        SCAN_STATUS: r.images.map((i) => i.status).join(','),
        SCAN_FINDINGS: String(r.images.reduce((n, i) => n + i.findings.length, 0)),
        ...Object.fromEntries(SEVERITIES.map((s) => [`SCAN_${s}`, String(total[s])])),
        SCAN_FAILING: String(r.failing.length),
      };
    },
  });
}

function platformText(r: ScanReport, i: PlatformReport): string {
  const head = `${r.repository}@${i.digest}${i.platform ? ` (${i.platform})` : ''}`;
  const lines = [
    `${head}: ${i.status}${i.scanType === 'ENHANCED' ? ' (enhanced)' : ''}${i.completedAt ? `, scanned ${i.completedAt.replace(/\.\d{3}Z$/, 'Z')}` : ''}`,
  ];
  if (i.statusDescription && i.status !== 'COMPLETE' && i.status !== 'ACTIVE') lines.push(`  ${i.statusDescription}`);
  if (i.status === 'COMPLETE' || i.status === 'ACTIVE') {
    lines.push(SEVERITIES.map((s: Severity) => `${s} ${i.counts[s]}`).join('  '));
    if (i.findings.length === 0) lines.push('no findings');
    else {
      lines.push(
        table(
          ['SEVERITY', 'ID', 'PACKAGE', 'VERSION', 'FIXED IN', 'SCORE', 'LINK'],
          i.findings.map((f: Finding) => [
            f.severity,
            f.id,
            f.package ?? '-',
            f.version ?? '-',
            f.fixedIn ?? '-',
            f.score !== undefined ? f.score.toFixed(1) : '-',
            f.uri ?? '-',
          ]),
        ),
      );
    }
    if (i.ignored.length > 0) {
      lines.push(`ignored (${i.ignored.length}):`);
      for (const { finding, entry } of i.ignored) {
        lines.push(
          `  ${finding.id} ${finding.severity} ${finding.package ?? ''}${entry.expires ? ` until ${entry.expires}` : ''}${entry.reason ? ` — ${entry.reason}` : ''}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

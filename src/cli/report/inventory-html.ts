// `ecrctl inventory --html FILE`: one self-contained page (inline CSS, inline SVG charts,
// a few lines of inline JavaScript to sort the table). A Content-Security-Policy without any
// source to fetch from makes "no network" a property of the page, not a promise.
import type { InventoryResult } from '../../ops/inventory.js';
import { bySeverity, formatBytes, formatSeverities, formatUsd } from './format.js';
import { barChart, columnChart, escapeXml } from './svg.js';

/** How many repositories the bar charts show (the largest); the table lists every one. */
const TOP = 25;

/** Returns the inventory as one HTML document that fetches nothing. */
export function renderInventoryHtml(inv: InventoryResult): string {
  const t = inv.totals;
  const top = [...inv.repositories].sort((a, b) => b.bytes - a.bytes || cmp(repoLabel(a), repoLabel(b))).slice(0, TOP);
  const multi = new Set(inv.repositories.map((r) => `${r.account}/${r.region}`)).size > 1;
  const label = (r: (typeof top)[number]) => (multi ? `${r.name} (${r.account.slice(-4)}, ${r.region})` : r.name);
  const bytesChart = barChart(
    `Stored bytes per repository (largest ${top.length})`,
    top.map((r) => ({ label: label(r), value: r.bytes, text: formatBytes(r.bytes) })),
  );
  const costChart = barChart(
    'Monthly storage cost per repository',
    top.map((r) => ({ label: label(r), value: r.monthlyUsd, text: formatUsd(r.monthlyUsd) })),
    { color: '#2a9d5b' },
  );
  const idleChart = columnChart(
    'Images by days since last pull (else push)',
    inv.idleHistogram.map((b) => ({ label: b.label, value: b.images, text: `${b.images} · ${formatBytes(b.bytes)}` })),
  );
  const notInUse = t.bytes - t.inUseBytes;
  const useChart = barChart(
    'In use vs not (bytes)',
    [
      { label: 'in use', value: t.inUseBytes, text: formatBytes(t.inUseBytes) },
      { label: 'not in use', value: notInUse, text: formatBytes(notInUse) },
      { label: `stale (>${inv.staleDays} days)`, value: t.staleBytes, text: formatBytes(t.staleBytes) },
      { label: 'untagged', value: t.untaggedBytes, text: formatBytes(t.untaggedBytes) },
    ],
    { color: '#7b5bd6' },
  );
  const sev = bySeverity(t.severityCounts);
  const sevChart = barChart(
    'Scan findings by severity',
    sev.map(([k, v]) => ({ label: k, value: v, text: String(v) })),
    { color: '#c0392b' },
  );
  const cards: [string, string][] = [
    ['repositories', String(t.repositories)],
    ['images', String(t.images)],
    ['stored', formatBytes(t.bytes)],
    ['per month', formatUsd(t.monthlyUsd)],
    [`stale (>${inv.staleDays} d)`, formatBytes(t.staleBytes)],
    ['untagged', formatBytes(t.untaggedBytes)],
    ['in use', `${t.inUseImages} images · ${formatBytes(t.inUseBytes)}`],
    ['findings', formatSeverities(t.severityCounts)],
  ];
  const rows = inv.repositories
    .map((r) => {
      const cells: [string | number, string][] = [
        [r.account, r.account],
        [r.region, r.region],
        [r.name, r.name],
        [r.images, String(r.images)],
        [r.untagged, String(r.untagged)],
        [r.bytes, formatBytes(r.bytes)],
        [r.staleBytes, formatBytes(r.staleBytes)],
        [r.inUseImages, String(r.inUseImages)],
        [r.monthlyUsd, formatUsd(r.monthlyUsd)],
        [r.quota.usedPercent, `${r.quota.usedPercent}%`],
        [severityScore(r.severityCounts), formatSeverities(r.severityCounts)],
      ];
      return `<tr>${cells.map(([v, text]) => `<td data-v="${escapeXml(String(v))}">${escapeXml(text)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const head = [
    'account',
    'region',
    'repository',
    'images',
    'untagged',
    'bytes',
    'stale',
    'in use',
    'per month',
    'quota',
    'findings',
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ECR inventory ${escapeXml(inv.generatedAt.slice(0, 10))}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}
.meta{color:#5a6272;font-size:13px;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:18px}
.card{border:1px solid #d8dde6;border-radius:8px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:18px}
.card span{color:#5a6272;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:24px;margin-bottom:18px}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid #e3e7ee;padding:4px 8px;text-align:left}
th{cursor:pointer;background:#f3f5f9;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td:nth-child(n+4){text-align:right}
.note{color:#5a6272;font-size:12px;max-width:900px}
</style>
</head>
<body>
<h1>ECR inventory</h1>
<div class="meta">generated ${escapeXml(inv.generatedAt)} · ${inv.targets.length} account/region pairs: ${escapeXml(inv.targets.map((x) => `${x.account} ${x.region}`).join(', '))}</div>
<div class="cards">${cards.map(([k, v]) => `<div class="card"><b>${escapeXml(v)}</b><span>${escapeXml(k)}</span></div>`).join('')}</div>
<div class="charts">
${bytesChart}
${costChart}
${idleChart}
${useChart}
${sevChart}
</div>
<h2>Repositories</h2>
<table id="repos">
<thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="note">${escapeXml(inv.bytesNote)} Prices: ${escapeXml(inv.ratesSource)}.</p>
<script>
document.querySelectorAll('#repos th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#repos tbody');
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    document.querySelectorAll('#repos th').forEach(function (o) { o.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
      var nx = Number(x), ny = Number(y);
      var c = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>
</body>
</html>
`;
}

function repoLabel(r: { account: string; region: string; name: string }): string {
  return `${r.account}/${r.region}/${r.name}`;
}

/** Returns a sort key for severity counts: critical findings outweigh any number of lower ones. */
function severityScore(c: Record<string, number>): number {
  return (c.CRITICAL ?? 0) * 1e9 + (c.HIGH ?? 0) * 1e6 + (c.MEDIUM ?? 0) * 1e3 + (c.LOW ?? 0);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// `ecrctl inventory --csv FILE`: one row per image (RFC 4180 quoting), for spreadsheets.
import type { InventoryResult } from '../../ops/inventory.js';

/** Returns the inventory's images as CSV with a header row. */
export function renderInventoryCsv(inv: InventoryResult): string {
  const q = (v: string | number | boolean | undefined) => {
    const s = v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const head = [
    'account',
    'region',
    'repository',
    'digest',
    'tags',
    'kind',
    'sizeBytes',
    'pushedAt',
    'lastPulledAt',
    'idleDays',
    'stale',
    'inUse',
    'storageClass',
    'scanStatus',
    'critical',
    'high',
    'referrers',
    'signed',
  ];
  const rows = inv.images.map((i) =>
    [
      i.account,
      i.region,
      i.repository,
      i.digest,
      i.tags.join(' '),
      i.kind,
      i.sizeBytes,
      i.pushedAt,
      i.lastPulledAt,
      i.idleDays,
      i.stale,
      i.inUse,
      i.storageClass,
      i.scanStatus,
      i.severityCounts?.CRITICAL ?? 0,
      i.severityCounts?.HIGH ?? 0,
      i.referrers,
      i.signed,
    ]
      .map(q)
      .join(','),
  );
  return `${[head.join(','), ...rows].join('\r\n')}\r\n`;
}

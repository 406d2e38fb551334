// A small SVG chart writer for the inventory report: horizontal bars and a column histogram,
// as plain strings. Hand-written rather than a bundled chart library: the report must work
// offline from one file, the charts are two shapes (bars with labels), and ~100 lines here
// cost less to review and keep than a library's bundle, its updates and its licence notice.

/** Returns text safe inside HTML and SVG (element text and attribute values). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One bar: its label, its value (the length), and the text printed beside it. */
export interface Bar {
  label: string;
  value: number;
  text: string;
}

const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

/** Returns a horizontal bar chart: one labelled row per bar, lengths scaled to the largest. */
export function barChart(title: string, bars: readonly Bar[], opts: { width?: number; color?: string } = {}): string {
  const width = opts.width ?? 640;
  const color = opts.color ?? '#2f6fdb';
  const row = 22;
  const labelW = Math.min(260, Math.max(80, ...bars.map((b) => b.label.length * 7)));
  const textW = 110;
  const barMax = Math.max(10, width - labelW - textW - 16);
  const max = Math.max(0, ...bars.map((b) => b.value));
  const height = 28 + Math.max(1, bars.length) * row;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escapeXml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="0" y="16" ${FONT} font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (bars.length === 0) parts.push(`<text x="0" y="44" ${FONT}>nothing to show</text>`);
  bars.forEach((b, i) => {
    const y = 28 + i * row;
    const len = max > 0 ? Math.max(b.value > 0 ? 1 : 0, Math.round((b.value / max) * barMax)) : 0;
    parts.push(
      `<text x="${labelW - 6}" y="${y + 15}" ${FONT} text-anchor="end">${escapeXml(truncate(b.label, 36))}</text>`,
      `<rect class="bar" x="${labelW}" y="${y + 3}" width="${len}" height="${row - 6}" fill="${color}"><title>${escapeXml(`${b.label}: ${b.text}`)}</title></rect>`,
      `<text x="${labelW + len + 6}" y="${y + 15}" ${FONT}>${escapeXml(b.text)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Returns a column chart (a histogram): one column per bucket, its text above it, its label below. */
export function columnChart(
  title: string,
  bars: readonly Bar[],
  opts: { width?: number; color?: string } = {},
): string {
  const width = opts.width ?? 640;
  const color = opts.color ?? '#d9822b';
  const height = 240;
  const top = 40;
  const bottom = 36;
  const plot = height - top - bottom;
  const slot = bars.length > 0 ? width / bars.length : width;
  const max = Math.max(0, ...bars.map((b) => b.value));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escapeXml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="0" y="16" ${FONT} font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="0" y1="${top + plot}" x2="${width}" y2="${top + plot}" stroke="#888"/>`,
  ];
  bars.forEach((b, i) => {
    const h = max > 0 ? Math.max(b.value > 0 ? 1 : 0, Math.round((b.value / max) * plot)) : 0;
    const x = i * slot + slot * 0.15;
    const w = slot * 0.7;
    const cx = i * slot + slot / 2;
    parts.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${top + plot - h}" width="${w.toFixed(1)}" height="${h}" fill="${color}"><title>${escapeXml(`${b.label}: ${b.text}`)}</title></rect>`,
      `<text x="${cx.toFixed(1)}" y="${top + plot - h - 4}" ${FONT} text-anchor="middle">${escapeXml(b.text)}</text>`,
      `<text x="${cx.toFixed(1)}" y="${top + plot + 18}" ${FONT} text-anchor="middle">${escapeXml(b.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

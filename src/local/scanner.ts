// The local endpoint's vulnerability scanner. It reads each layer of an image (gzip or plain
// tar, as a stream), keeps the last copy of the two package databases it knows — Debian's
// var/lib/dpkg/status and Alpine's lib/apk/db/installed — and matches the packages found
// against an advisory file the user supplies. No network, no vulnerability database of its
// own: an absent or empty advisory file means no findings.
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type JsonNode, JsonSyntaxError, lineColumnOf, parseJsonWithPositions } from '../policy/lifecycle/json.js';
import { type FileProblem, formatFileProblems, sortProblems } from '../policy/problems.js';
import { normalizeSeverity, type Severity } from '../policy/scan.js';
import type { Store } from './store.js';

/** The package databases the scanner reads, by path inside the image. */
const DPKG_STATUS = 'var/lib/dpkg/status';
const APK_INSTALLED = 'lib/apk/db/installed';

/** One entry of the advisory file. */
export interface Advisory {
  id: string;
  package: string;
  ecosystem: 'deb' | 'apk';
  /** First fixed version: versions below it are affected, and the fix is reported. */
  fixedIn?: string;
  /** Versions below this are affected, but no fixed version is claimed. */
  affectedBelow?: string;
  severity: Severity;
  score?: number;
  description?: string;
  uri?: string;
}

/** A package found in an image. */
export interface InstalledPackage {
  name: string;
  version: string;
  ecosystem: 'deb' | 'apk';
  arch?: string;
  /** The layer whose copy of the package database listed it. */
  layerDigest: string;
}

/** One advisory that applies to one installed package. */
export interface ScanHit {
  id: string;
  severity: Severity;
  package: string;
  version: string;
  ecosystem: 'deb' | 'apk';
  arch?: string;
  layerDigest: string;
  fixedIn?: string;
  score?: number;
  description?: string;
  uri?: string;
}

/** What a scan of one image manifest ended with. */
export type ScanOutcome =
  | { status: 'COMPLETE'; hits: ScanHit[]; packages: number; advisoriesUpdatedAt?: number }
  | { status: 'FAILED' | 'UNSUPPORTED_IMAGE'; description: string };

/**
 * Why an advisory file was refused. The message names the file and lists every problem, one
 * line each in file order (`FILE:line:column field: problem — fix`); `problems` holds them as
 * data and `summary` the first line alone.
 */
export class AdvisoryFileError extends Error {
  readonly summary: string;
  readonly problems: readonly FileProblem[];
  constructor(summary: string, problems: readonly FileProblem[] = []) {
    const sorted = sortProblems(problems);
    super([summary, ...formatFileProblems(sorted).map((line) => `  - ${line}`)].join('\n'));
    this.name = 'AdvisoryFileError';
    this.summary = summary;
    this.problems = sorted;
  }
}

/** Returns the advisories of a file (JSON list, or {advisories: [...]}); throws AdvisoryFileError. */
export async function loadAdvisories(file: string): Promise<{ advisories: Advisory[]; updatedAt: number }> {
  let text: string;
  let updatedAt: number;
  try {
    text = await readFile(file, 'utf8');
    updatedAt = (await stat(file)).mtimeMs;
  } catch (err) {
    throw new AdvisoryFileError(`cannot read the advisory file ${file}: ${(err as Error).message}`);
  }
  if (text.trim() === '') return { advisories: [], updatedAt };
  // Parsed with positions, so each problem names its line and column like the other validators.
  const at = lineColumnOf(text);
  const problems: FileProblem[] = [];
  const add = (offset: number, field: string, problem: string, fix: string) =>
    problems.push({ file, ...at(offset), field, problem, fix });
  let root: JsonNode;
  try {
    root = parseJsonWithPositions(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    add(err.offset, 'advisory file', `JSON syntax error: ${err.message}`, 'correct the JSON at this position');
    throw new AdvisoryFileError(`the advisory file ${file} is not JSON`, problems);
  }
  const wrapped = root.kind === 'object' ? root.entries.find((e) => e.key === 'advisories') : undefined;
  const list = root.kind === 'array' ? root : wrapped?.value;
  if (list?.kind !== 'array') {
    add(
      wrapped ? wrapped.value.offset : root.offset,
      wrapped ? 'advisories' : 'advisory file',
      'must hold a JSON list of advisories',
      'write [{"id": …, "package": …, "ecosystem": "deb"}, …] or {"advisories": [ … ]}',
    );
    throw new AdvisoryFileError(`the advisory file ${file} must hold a JSON list of advisories`, problems);
  }
  const prefix = root.kind === 'array' ? '' : 'advisories';
  const advisories: Advisory[] = [];
  list.items.forEach((item, i) => {
    const where = `${prefix}[${i}]`;
    if (item.kind !== 'object') {
      add(item.offset, where, 'an advisory is a JSON object', 'write {"id": …, "package": …, "ecosystem": "deb"}');
      return;
    }
    const entry = (k: string) => item.entries.filter((e) => e.key === k).at(-1);
    const text = (k: string) => {
      const v = entry(k)?.value;
      return v?.kind === 'string' && v.value !== '' ? v.value : undefined;
    };
    // A missing field is reported at the advisory's "{", a wrong one at its value.
    const offsetOf = (k: string) => entry(k)?.value.offset ?? item.offset;
    const id = text('id');
    const pkg = text('package');
    const eco = text('ecosystem');
    if (!id) add(offsetOf('id'), `${where}.id`, 'id is required', 'add "id": the advisory id, e.g. "CVE-2024-1234"');
    if (!pkg) {
      add(offsetOf('package'), `${where}.package`, 'package is required', 'add "package": the name dpkg or apk lists');
    }
    if (eco !== 'deb' && eco !== 'apk') {
      add(
        offsetOf('ecosystem'),
        `${where}.ecosystem`,
        'ecosystem must be deb or apk',
        'write "ecosystem": "deb" (Debian, Ubuntu) or "apk" (Alpine)',
      );
    }
    const score = entry('score')?.value;
    if (score !== undefined && score.kind !== 'number') {
      add(score.offset, `${where}.score`, 'score must be a number', 'write a number, e.g. "score": 7.5');
    }
    if (!id || !pkg || (eco !== 'deb' && eco !== 'apk')) return;
    const a: Advisory = { id, package: pkg, ecosystem: eco, severity: normalizeSeverity(text('severity')) };
    const fixedIn = text('fixedIn');
    const below = text('affectedBelow');
    if (fixedIn) a.fixedIn = fixedIn;
    if (below) a.affectedBelow = below;
    if (score?.kind === 'number') a.score = score.value;
    const description = text('description');
    const uri = text('uri');
    if (description) a.description = description;
    if (uri) a.uri = uri;
    advisories.push(a);
  });
  if (problems.length > 0) {
    throw new AdvisoryFileError(
      `the advisory file ${file} has ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}`,
      problems,
    );
  }
  return { advisories, updatedAt };
}

/** Scans one image manifest stored in store against the advisory file (none = no findings). */
export async function scanImage(
  store: Store,
  manifestDigest: string,
  advisoriesFile: string | undefined,
): Promise<ScanOutcome> {
  let advisories: Advisory[] = [];
  let advisoriesUpdatedAt: number | undefined;
  if (advisoriesFile !== undefined) {
    try {
      ({ advisories, updatedAt: advisoriesUpdatedAt } = await loadAdvisories(advisoriesFile));
    } catch (err) {
      return { status: 'FAILED', description: (err as Error).message };
    }
  }
  let layers: string[];
  try {
    const manifest = JSON.parse((await store.readBlob(manifestDigest)).toString('utf8')) as {
      layers?: { digest?: unknown }[];
    };
    layers = (manifest.layers ?? []).map((l) => String(l.digest));
  } catch (err) {
    return { status: 'FAILED', description: `the image manifest could not be read: ${(err as Error).message}` };
  }
  const databases = new Map<string, { bytes: Buffer; layerDigest: string }>();
  for (const layer of layers) {
    try {
      const found = await readLayerFiles(store.blobStream(layer) as Readable, new Set([DPKG_STATUS, APK_INSTALLED]));
      // A later layer's copy replaces an earlier one, as in the container's file system.
      for (const [name, bytes] of found) databases.set(name, { bytes, layerDigest: layer });
    } catch (err) {
      return {
        status: 'FAILED',
        description: `ScanFailed: layer ${layer} could not be read: ${(err as Error).message}`,
      };
    }
  }
  if (databases.size === 0) {
    return {
      status: 'UNSUPPORTED_IMAGE',
      description: 'UnsupportedImageError: The operating system and/or package manager are not supported.',
    };
  }
  const packages: InstalledPackage[] = [];
  const dpkg = databases.get(DPKG_STATUS);
  if (dpkg) packages.push(...parseDpkgStatus(dpkg.bytes.toString('utf8'), dpkg.layerDigest));
  const apk = databases.get(APK_INSTALLED);
  if (apk) packages.push(...parseApkInstalled(apk.bytes.toString('utf8'), apk.layerDigest));
  return {
    status: 'COMPLETE',
    hits: matchAdvisories(packages, advisories),
    packages: packages.length,
    ...(advisoriesUpdatedAt !== undefined ? { advisoriesUpdatedAt } : {}),
  };
}

/** Returns the advisories that apply to the packages, one hit per (advisory, package). */
export function matchAdvisories(packages: readonly InstalledPackage[], advisories: readonly Advisory[]): ScanHit[] {
  const hits: ScanHit[] = [];
  for (const p of packages) {
    for (const a of advisories) {
      if (a.ecosystem !== p.ecosystem || a.package !== p.name) continue;
      const bound = a.fixedIn ?? a.affectedBelow;
      if (bound !== undefined && compareVersions(p.version, bound) >= 0) continue;
      hits.push({
        id: a.id,
        severity: a.severity,
        package: p.name,
        version: p.version,
        ecosystem: p.ecosystem,
        layerDigest: p.layerDigest,
        ...(p.arch ? { arch: p.arch } : {}),
        ...(a.fixedIn ? { fixedIn: a.fixedIn } : {}),
        ...(a.score !== undefined ? { score: a.score } : {}),
        ...(a.description ? { description: a.description } : {}),
        ...(a.uri ? { uri: a.uri } : {}),
      });
    }
  }
  return hits;
}

/** Returns the installed packages of a dpkg status file (stanzas of Package / Version / Status). */
export function parseDpkgStatus(text: string, layerDigest: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) fields.set((m[1] as string).toLowerCase(), (m[2] as string).trim());
    }
    const name = fields.get('package');
    const version = fields.get('version');
    const status = fields.get('status');
    // Packages removed but with config files left ("deinstall ok config-files") are not installed.
    if (!name || !version || (status !== undefined && !/\binstalled$/.test(status))) continue;
    const arch = fields.get('architecture');
    out.push({ name, version, ecosystem: 'deb', layerDigest, ...(arch ? { arch } : {}) });
  }
  return out;
}

/** Returns the installed packages of an apk database (blank-line separated P: / V: / A: records). */
export function parseApkInstalled(text: string, layerDigest: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const record of text.split(/\n\s*\n/)) {
    let name: string | undefined;
    let version: string | undefined;
    let arch: string | undefined;
    for (const line of record.split('\n')) {
      if (line.startsWith('P:')) name = line.slice(2).trim();
      else if (line.startsWith('V:')) version = line.slice(2).trim();
      else if (line.startsWith('A:')) arch = line.slice(2).trim();
    }
    if (name && version) out.push({ name, version, ecosystem: 'apk', layerDigest, ...(arch ? { arch } : {}) });
  }
  return out;
}

/**
 * Compares two package versions the way dpkg does ([epoch:]upstream[-revision], `~` before
 * anything, digits numerically). Alpine versions (1.2.3-r4) compare well enough the same way;
 * apk's suffix order (_alpha < _beta < _pre < _rc < none < _p) is not modelled.
 */
export function compareVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  return Math.sign(pa.epoch - pb.epoch || verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision));
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  let rest = v.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash > 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: '' };
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

// dpkg's verrevcmp: alternating runs of non-digits (compared by `order`) and digits (numerically).
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = order(a[i]) - order(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (first === 0) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first !== 0) return first;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Reading layers. src/oci/layout/tar.ts indexes tar *files* by random access; a layer blob is
// usually gzip, which can only be read front to back, so this is a small streaming reader.

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #iter: AsyncIterator<Buffer>;
  #done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.#iter = stream[Symbol.asyncIterator]();
  }

  async #fill(n: number): Promise<void> {
    while (this.#buffered < n && !this.#done) {
      const next = await this.#iter.next();
      if (next.done) this.#done = true;
      else {
        this.#chunks.push(next.value);
        this.#buffered += next.value.length;
      }
    }
  }

  /** Returns exactly n bytes, fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.#fill(n);
    const all = Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }

  /** Skips n bytes without keeping them. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const chunk = await this.read(Math.min(left, 1 << 20));
      if (chunk.length === 0) throw new Error('unexpected end of the tar stream');
      left -= chunk.length;
    }
  }

  async close(): Promise<void> {
    await this.#iter.return?.();
  }
}

/**
 * What the scanner reads of one layer at most. A layer is untrusted input: a small gzip can
 * claim a gigabyte-long name, or expand without end. Past a limit the layer's scan fails.
 */
export interface LayerReadLimits {
  /** GNU long-name / long-link header (`L`, `K`): PATH_MAX-sized names. Default 4096. */
  maxNameBytes?: number;
  /** PAX extended header (`x`, `g`). Default 1 MiB. */
  maxPaxBytes?: number;
  /** One package database read into memory. Default 64 MiB. */
  maxFileBytes?: number;
  /** Tar entries per layer. Default 1,000,000. */
  maxEntries?: number;
  /** Decompressed bytes read per layer. Default 16 GiB. */
  maxTotalBytes?: number;
}

const LAYER_LIMITS: Required<LayerReadLimits> = {
  maxNameBytes: 4096,
  maxPaxBytes: 1 << 20,
  maxFileBytes: 64 << 20,
  maxEntries: 1_000_000,
  maxTotalBytes: 16 * 1024 ** 3,
};

/** Thrown when a layer goes past a LayerReadLimits limit; the scan reports its message. */
export class LayerLimitError extends Error {}

/** Returns the contents of the wanted regular files in a layer (gzip or plain tar). */
export async function readLayerFiles(
  stream: Readable,
  wanted: ReadonlySet<string>,
  limits: LayerReadLimits = {},
): Promise<Map<string, Buffer>> {
  const lim = { ...LAYER_LIMITS, ...limits };
  const found = new Map<string, Buffer>();
  const head = new ByteReader(stream as AsyncIterable<Buffer>);
  const magic = await head.read(4);
  if (magic.length >= 4 && magic[0] === 0x28 && magic[1] === 0xb5 && magic[2] === 0x2f && magic[3] === 0xfd) {
    await head.close();
    throw new Error('zstd-compressed layers are not supported by the local scanner');
  }
  // Re-join the peeked bytes with the rest of the stream.
  async function* rest(): AsyncGenerator<Buffer> {
    yield magic;
    for (;;) {
      const chunk = await head.read(1 << 16);
      if (chunk.length === 0) return;
      yield chunk;
    }
  }
  let source: AsyncIterable<Buffer> = rest();
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  if (magic[0] === 0x1f && magic[1] === 0x8b) {
    const gz = createGunzip();
    gunzip = gz;
    const feed = (async () => {
      try {
        for await (const chunk of rest()) {
          if (gz.destroyed) return;
          if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
        }
        gz.end();
      } catch (err) {
        gz.destroy(err as Error);
      }
    })();
    source = gz;
    void feed;
  }
  // Counts decompressed bytes as the tar reader pulls them: a gzip bomb stops at the limit.
  async function* counted(from: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let total = 0;
    for await (const chunk of from) {
      total += chunk.length;
      if (total > lim.maxTotalBytes) {
        throw new LayerLimitError(`the layer expands to more than ${lim.maxTotalBytes} bytes (the scanner's limit)`);
      }
      yield chunk;
    }
  }
  const tar = new ByteReader(counted(source));
  /** Reads an extended header's data, refusing more than max bytes before reading any. */
  const readExtended = async (what: string, size: number, padded: number, max: number): Promise<Buffer> => {
    if (size > max)
      throw new LayerLimitError(`a ${what} header of ${size} bytes exceeds the scanner limit of ${max} bytes`);
    return (await tar.read(padded)).subarray(0, size);
  };
  try {
    let longName: string | undefined;
    let paxPath: string | undefined;
    let entries = 0;
    for (;;) {
      const header = await tar.read(512);
      if (header.length < 512) {
        if (header.length === 0) break;
        throw new Error('truncated tar header');
      }
      if (header.every((b) => b === 0)) break;
      if (++entries > lim.maxEntries) throw new LayerLimitError(`the layer has more than ${lim.maxEntries} entries`);
      const sizeField = header.subarray(124, 136);
      const size =
        sizeField[0] !== undefined && (sizeField[0] & 0x80) !== 0
          ? Number(sizeField.readBigUInt64BE(4))
          : parseOctal(sizeField);
      if (!tarChecksumOk(header)) throw new Error('bad tar header checksum (not a tar layer?)');
      const type = String.fromCharCode(header[156] ?? 0x30);
      const padded = Math.ceil(size / 512) * 512;
      if (!Number.isSafeInteger(size) || size < 0)
        throw new LayerLimitError('a tar header declares an impossible size');
      if (type === 'L') {
        longName = cString(await readExtended('GNU long name', size, padded, lim.maxNameBytes));
        continue;
      }
      if (type === 'K') {
        await readExtended('GNU long link', size, padded, lim.maxNameBytes);
        continue;
      }
      if (type === 'x') {
        paxPath = paxField(await readExtended('PAX', size, padded, lim.maxPaxBytes), 'path') ?? paxPath;
        continue;
      }
      if (type === 'g') {
        await readExtended('PAX', size, padded, lim.maxPaxBytes);
        continue;
      }
      const prefix = cString(header.subarray(345, 500));
      const base = cString(header.subarray(0, 100));
      const raw = paxPath ?? longName ?? (prefix ? `${prefix}/${base}` : base);
      longName = undefined;
      paxPath = undefined;
      if (Buffer.byteLength(raw) > lim.maxNameBytes) {
        throw new LayerLimitError(
          `a file name of ${Buffer.byteLength(raw)} bytes exceeds the scanner limit of ${lim.maxNameBytes} bytes`,
        );
      }
      const name = raw.replace(/^(\.\/|\/)+/, '');
      if ((type === '0' || type === '\0' || type === '7') && wanted.has(name)) {
        if (size > lim.maxFileBytes) {
          throw new LayerLimitError(`${name} is ${size} bytes, over the scanner limit of ${lim.maxFileBytes} bytes`);
        }
        found.set(name, (await tar.read(padded)).subarray(0, size));
      } else if (padded > 0) {
        await tar.skip(padded);
      }
    }
  } finally {
    // The tar may end before the stream does (padding after the end blocks): stop reading.
    gunzip?.destroy();
    stream.destroy();
    await tar.close().catch(() => {});
    await head.close().catch(() => {});
  }
  return found;
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function parseOctal(b: Buffer): number {
  const s = cString(b).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function tarChecksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] as number);
  return parseOctal(header.subarray(148, 156)) === sum;
}

function paxField(data: Buffer, key: string): string | undefined {
  // Records are "<len> <key>=<value>\n".
  let value: string | undefined;
  for (const line of data.toString('utf8').split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/.exec(line);
    if (m && m[1] === key) value = m[2];
  }
  return value;
}

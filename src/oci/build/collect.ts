// Turns `--add SRC:DEST[:MODE[:UID:GID]]` into layer entries: walks SRC without following
// symlinks, keeps permission bits (or sets them), owns everything by uid/gid 0 unless told,
// and refuses what a reproducible layer cannot hold faithfully (hard links, devices, fifos).
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, UsageError } from '../../errors.js';
import type { IgnoreMatcher } from './ignore.js';
import { type LayerEntry, sortEntries } from './tar.js';

/** One `--add`: what to copy and where it lands in the image. */
export interface AddSpec {
  /** The file or directory on this machine (absolute). */
  source: string;
  /** The path in the image (absolute, `/app`); a trailing `/` puts a file inside it. */
  dest: string;
  /** Permission bits for files (directories get the same plus x where r is). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** How the user wrote it, for messages (`./app:/app`). */
  given: string;
}

/** Returns the parts of `SRC:DEST[:MODE[:UID:GID]]`; SRC is resolved against cwd. */
export function parseAddSpec(text: string, cwd: string): AddSpec {
  const parts = text.split(':');
  const bad = (rule: string) =>
    new UsageError(`invalid --add ${JSON.stringify(text)}: ${rule}`, {
      rule,
      value: text,
      fix: 'write --add SRC:DEST[:MODE[:UID:GID]], e.g. --add ./dist:/app or --add ./run.sh:/usr/local/bin/run:0755:1000:1000',
    });
  if (parts.length < 2 || parts.length === 4 || parts.length > 5) throw bad('--add is SRC:DEST[:MODE[:UID:GID]]');
  const [src, dest, mode, uid, gid] = parts as [string, string, string?, string?, string?];
  if (src === '') throw bad('SRC names a file or directory');
  if (!dest.startsWith('/')) throw bad('DEST is an absolute path in the image (starts with /)');
  const normal = path.posix.normalize(dest);
  if (dest.split('/').includes('..')) throw bad('DEST stays inside the image (no ..)');
  const spec: AddSpec = {
    source: path.resolve(cwd, src),
    dest: dest.endsWith('/') && !normal.endsWith('/') ? `${normal}/` : normal,
    given: text,
  };
  if (mode !== undefined && mode !== '') {
    if (!/^0?[0-7]{3,4}$/.test(mode)) throw bad('MODE is octal permission bits, e.g. 0755 or 644');
    spec.mode = Number.parseInt(mode, 8);
  }
  if (uid !== undefined) {
    if (!/^[0-9]{1,10}$/.test(uid) || !/^[0-9]{1,10}$/.test(gid ?? '')) throw bad('UID and GID are numbers');
    spec.uid = Number(uid);
    spec.gid = Number(gid);
  }
  return spec;
}

/** Returns directory bits for file bits: x wherever r is (as `chmod a+X` would). */
function dirMode(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
}

/** Returns the entries for the parent directories of an image path (`a/b/c` → `a`, `a/b`). */
function parents(name: string): LayerEntry[] {
  const out: LayerEntry[] = [];
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    out.push({ name: parts.slice(0, i).join('/'), type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  }
  return out;
}

/**
 * Returns the sorted entries of one `--add`: the parent directories of DEST, then SRC's tree
 * (a directory's contents go under DEST, as `COPY dir /dest` does). Throws for hard links,
 * devices, fifos and sockets, naming the path.
 */
export async function collectAdd(spec: AddSpec, ignore?: IgnoreMatcher): Promise<LayerEntry[]> {
  const info = await lstat(spec.source).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      throw new NotFoundError(`--add ${spec.given}: ${spec.source} does not exist`, {
        value: spec.given,
        fix: 'name a file or directory that exists (relative paths start at the current directory)',
      });
    }
    throw err;
  });
  const uid = spec.uid ?? 0;
  const gid = spec.gid ?? 0;
  const entries = new Map<string, LayerEntry>();
  const put = (e: LayerEntry) => entries.set(e.name, e);
  let root = spec.dest.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!info.isDirectory() && spec.dest.endsWith('/'))
    root = root === '' ? path.basename(spec.source) : `${root}/${path.basename(spec.source)}`;

  const visit = async (host: string, name: string, rel: string, st: Awaited<ReturnType<typeof lstat>>) => {
    const perm = Number(st.mode) & 0o7777;
    if (st.isDirectory()) {
      if (name !== '')
        put({ name, type: 'dir', mode: spec.mode !== undefined ? dirMode(spec.mode) : perm, uid, gid, size: 0 });
      const children = (await readdir(host)).sort();
      for (const child of children) {
        const childRel = rel === '' ? child : `${rel}/${child}`;
        const childHost = path.join(host, child);
        const cst = await lstat(childHost);
        if (ignore?.excludes(childRel)) {
          // An excluded directory is walked only when a `!` pattern might bring something back.
          if (!(cst.isDirectory() && ignore.hasNegations)) continue;
          const before = entries.size;
          await visit(childHost, name === '' ? child : `${name}/${child}`, childRel, cst);
          if (entries.size === before) entries.delete(name === '' ? child : `${name}/${child}`);
          continue;
        }
        await visit(childHost, name === '' ? child : `${name}/${child}`, childRel, cst);
      }
      return;
    }
    if (ignore && rel !== '' && ignore.excludes(rel)) return;
    if (st.isSymbolicLink()) {
      put({ name, type: 'symlink', mode: 0o777, uid, gid, size: 0, linkname: await readlink(host) });
      return;
    }
    if (st.isFile()) {
      if (Number(st.nlink) > 1) {
        throw new UsageError(`--add ${spec.given}: ${host} is a hard link (${st.nlink} names for one file)`, {
          rule: 'a built layer holds no hard links (their order-dependent form would not be reproducible)',
          value: host,
          fix: 'copy the file so it has one name (cp without -l; pnpm: node-linker=hoisted or package-import-method=copy), or add a prebuilt --layer',
        });
      }
      put({ name, type: 'file', mode: spec.mode ?? perm, uid, gid, size: Number(st.size), source: host });
      return;
    }
    const kind = st.isCharacterDevice() || st.isBlockDevice() ? 'a device file' : st.isFIFO() ? 'a fifo' : 'a socket';
    throw new UsageError(`--add ${spec.given}: ${host} is ${kind}`, {
      rule: 'a built layer holds regular files, directories and symlinks only',
      value: host,
      fix: 'exclude it with --ignore-file, or add a prebuilt --layer',
    });
  };
  if (root === '' && !info.isDirectory()) {
    throw new UsageError(`--add ${spec.given}: a file cannot replace /`, {
      value: spec.given,
      fix: 'name a file path as DEST, e.g. /app/run',
    });
  }
  for (const p of parents(root)) put(p);
  await visit(spec.source, root, '', info);
  return sortEntries([...entries.values()]);
}

/** Returns entries of several sources merged into one layer; a later source wins a name. */
export function mergeEntries(lists: readonly LayerEntry[][]): LayerEntry[] {
  const byName = new Map<string, LayerEntry>();
  for (const list of lists) for (const e of list) byName.set(e.name, e);
  return sortEntries([...byName.values()]);
}

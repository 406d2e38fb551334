// The `ecrctl sync` config file: which repositories and tags go where, and how. Parsed and
// checked here without any I/O (the caller reads the file), so every problem is reported at
// once with its file:line; plus the pure pieces the sync engine needs: tag filters and the
// stable shard of a repository.
import semver from 'semver';
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import { EcrctlError, RuleViolation, UsageError } from '../errors.js';
import { isPresetSource, parseLifecyclePolicy, parsePresetSource, renderPreset } from './lifecycle/index.js';
import { MUTABILITY_EXCLUSION_FILTER } from './naming.js';

/** What happens to a target tag that exists and points at another image than the source's. */
export type ExistingTags = 'skip' | 'overwrite' | 'backup';

/**
 * How sync authenticates to one side (source or target) of an entry. ECR sides take a
 * `profile` and/or a `roleArn` (+ `externalId`); other registries take a Docker config
 * (`dockerConfig`: a directory holding config.json, or the config.json itself) or `username`
 * plus `passwordEnv` — the NAME of an environment variable holding the password (a password
 * is never written in the file).
 */
export interface SideCredentials {
  /** `file:line` of the side's mapping, for messages. */
  at: string;
  profile?: string;
  roleArn?: string;
  externalId?: string;
  dockerConfig?: string;
  username?: string;
  passwordEnv?: string;
}

/** The credentials of an entry's two sides (a side not named uses the session's own). */
export interface SyncCredentials {
  source?: SideCredentials;
  target?: SideCredentials;
}

/** Which tags of a source repository are synced. */
export interface TagFilter {
  /** Regular expressions (unanchored, like `grep -E`); a tag must match one of them (none: every tag). */
  allow: string[];
  /** Regular expressions; a tag matching any of them is left out. */
  deny: string[];
  /**
   * An npm semver range (`>=1.4 <2`, `^1.4`, `~1.4.2`, `1.x`): only tags that read as versions
   * (`1`, `v1.4`, `1.4.2`, `1.4.2-rc.1`; missing parts are 0) and satisfy it. A `-suffix` is
   * a prerelease, kept only when the range names a prerelease of the same version (semver's rule).
   */
  semver?: string;
  /** Keep only the N highest tags after allow/deny, in version order (numbers compared as numbers). */
  newest?: number;
  /**
   * Only tags whose image was pushed within this window (`30d`, `12h`, `2w`), as written, and
   * in milliseconds. ECR sources only (DescribeImages' imagePushedAt; no manifest is read).
   */
  since?: { text: string; ms: number };
}

/** Settings of the repositories sync creates at an ECR target. */
export interface RepositorySettings {
  tagMutability?: 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';
  mutabilityExclusions?: string[];
  scanOnPush?: boolean;
  /** The lifecycle policy created repositories get (it overrides a creation template's). */
  lifecycle?: SyncLifecycle;
}

/**
 * A lifecycle policy named in the sync config: `preset:NAME[,k=v…]` (rendered and checked
 * when the config is parsed) or the path of a policy file, relative to the sync config
 * (read and checked by the op before anything is sent: loadSyncLifecycles).
 */
export interface SyncLifecycle {
  /** As written in the config. */
  source: string;
  /** `file:line` of the key, for messages. */
  at: string;
  /** The key's name (`sync[0].repository.lifecycle`), for messages. */
  key: string;
  /** The policy file's path, relative to the sync config's directory resolved (file sources only). */
  file?: string;
  /** The policy JSON text: set for presets at parse time, for files once loaded. */
  text?: string;
}

/** How every entry behaves unless it says otherwise. */
export interface SyncDefaults {
  /** `all`, or the one platform (`linux/amd64`) to take out of multi-platform images. */
  platforms: 'all' | string[];
  /** Carry signatures, SBOMs and attestations along (default true). */
  referrers: boolean;
  /** Create missing ECR target repositories (default true). */
  createRepositories: boolean;
  /** A target tag that points elsewhere: `overwrite` (default) or `skip` (left as it is). */
  existing: ExistingTags;
  /** Settings of the repositories created. */
  repository: RepositorySettings;
  /** The tag filter of entries that name none. */
  tags: TagFilter;
  /** Per-side credentials of entries that name none (an entry's side replaces the default's side). */
  credentials: SyncCredentials;
  /**
   * An IAM user or role ARN (the identity the sync runs as) that `sync apply` and `sync check`
   * register on the pull-time update exclusion list of every ECR registry they read or write
   * before reading, so syncing does not make images look recently pulled.
   */
  pullTimeExclusion?: string;
}

/** One `sync:` entry, with the defaults applied. */
export interface SyncEntry {
  /** Position in the `sync:` list, from 0. */
  index: number;
  /** `file:line` of the entry, for messages. */
  at: string;
  /** The source as written, without the trailing `/` of a prefix. */
  source: string;
  /** The target as written, without the trailing `/` of a prefix (may be '' for a registry root). */
  target: string;
  /** true: source and target end with `/`: every repository under the source prefix. */
  prefix: boolean;
  /** Prefix entries: regular expressions over the repository path under the prefix. */
  repositories: { allow: string[]; deny: string[] };
  tags: TagFilter;
  platforms: 'all' | string[];
  referrers: boolean;
  createRepositories: boolean;
  existing: ExistingTags;
  repository: RepositorySettings;
  credentials: SyncCredentials;
}

/** A parsed and checked sync config. */
export interface SyncConfig {
  file: string;
  defaults: SyncDefaults;
  entries: SyncEntry[];
}

const TOP_KEYS = ['version', 'defaults', 'sync'] as const;
const COMMON_KEYS = [
  'platforms',
  'referrers',
  'createRepositories',
  'existing',
  'repository',
  'tags',
  'credentials',
] as const;
const SIDES = ['source', 'target'] as const;
const SIDE_KEYS = ['profile', 'roleArn', 'externalId', 'dockerConfig', 'username', 'passwordEnv'] as const;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROFILE_NAME = /^[\w.@+=,:/-]{1,128}$/;
const ENTRY_KEYS = ['source', 'target', 'repositories', ...COMMON_KEYS] as const;
const TAG_KEYS = ['allow', 'deny', 'semver', 'newest', 'since'] as const;
const REPO_FILTER_KEYS = ['allow', 'deny'] as const;
const REPOSITORY_KEYS = ['tagMutability', 'mutabilityExclusions', 'scanOnPush', 'lifecycle'] as const;
const DEFAULT_KEYS = [...COMMON_KEYS, 'pullTimeExclusion'] as const;
/** An IAM user or role ARN: the principals ECR takes for the pull-time update exclusion list. */
const PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(user|role)\/[\w+=,.@/-]+$/;
const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
/** Keys users reach for that are not there yet: said so, rather than "unknown key". */
const NOT_YET: Record<string, string> = {};

interface Problem {
  (node: Node | Pair | null | undefined, message: string): void;
  /** Returns `file:line` of a node. */
  at(node: Node | Pair | null | undefined): string;
  /** The sync config's file name, as given. */
  file: string;
}

/**
 * Returns the sync config that text (the contents of file) describes, or throws RuleViolation
 * (exit 3) listing every problem as `file:line: message`.
 */
export function parseSyncConfig(text: string, file: string): SyncConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    problems.push(`${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`);
  }
  if (problems.length > 0) throw invalid(file, problems);
  const at = (node: Node | Pair | null | undefined): string => {
    const range =
      node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node | null)?.range : undefined;
    return `${file}:${range ? lines.linePos(range[0]).line : 1}`;
  };
  const problem: Problem = Object.assign(
    (node: Node | Pair | null | undefined, message: string) => {
      problems.push(`${at(node)}: ${message}`);
    },
    { at, file },
  );

  const defaults: SyncDefaults = {
    platforms: 'all',
    referrers: true,
    createRepositories: true,
    existing: 'overwrite',
    repository: {},
    tags: { allow: [], deny: [] },
    credentials: {},
  };
  const entries: SyncEntry[] = [];
  const root = doc.contents;
  if (!isMap(root)) {
    problem(root, 'the sync config is a mapping with the keys defaults and sync (see `ecrctl help sync`)');
    throw invalid(file, problems);
  }
  let syncNode: Node | null = null;
  for (const pair of known(root, TOP_KEYS, '', problem)) {
    const key = keyOf(pair);
    const value = pair.value as Node | null;
    if (key === 'version') {
      if (!isScalar(value) || value.value !== 1) problem(value ?? pair, 'version: only version 1 exists');
    } else if (key === 'defaults') {
      if (!isMap(value)) problem(value ?? pair, 'defaults: is a mapping, e.g. defaults: { existing: skip }');
      else
        for (const p of known(value, DEFAULT_KEYS, 'defaults.', problem)) {
          if (keyOf(p) !== 'pullTimeExclusion') common(p, 'defaults.', defaults, problem);
          else {
            const arn = str(p, 'defaults.pullTimeExclusion', problem);
            if (arn !== undefined && PRINCIPAL_ARN.test(arn)) defaults.pullTimeExclusion = arn;
            else if (arn !== undefined)
              problem(
                p,
                `defaults.pullTimeExclusion: the ARN of the IAM user or role the sync runs as (arn:aws:iam::ACCOUNT:role/NAME; \`aws sts get-caller-identity\` prints it), not ${JSON.stringify(arn)}`,
              );
          }
        }
    } else if (key === 'sync') {
      syncNode = value;
    }
  }
  if (!isSeq(syncNode) || syncNode.items.length === 0) {
    problem(syncNode ?? root, 'sync: is a list of entries, each starting with - source: … and target: …');
  } else {
    const targets = new Map<string, number>();
    syncNode.items.forEach((item, index) => {
      const node = item as Node;
      const where = `sync[${index}]`;
      if (!isMap(node)) {
        problem(node, `${where}: an entry is a mapping with source: and target:`);
        return;
      }
      const entry: SyncEntry = {
        index,
        at: at(node),
        source: '',
        target: '',
        prefix: false,
        repositories: { allow: [], deny: [] },
        tags: { ...defaults.tags },
        platforms: defaults.platforms,
        referrers: defaults.referrers,
        createRepositories: defaults.createRepositories,
        existing: defaults.existing,
        repository: { ...defaults.repository },
        credentials: { ...defaults.credentials },
      };
      let source: string | undefined;
      let target: string | undefined;
      let sourceNode: Pair | undefined;
      let repositoriesNode: Pair | undefined;
      for (const p of known(node, ENTRY_KEYS, `${where}.`, problem)) {
        const key = keyOf(p);
        if (key === 'source') {
          source = str(p, `${where}.source`, problem);
          sourceNode = p;
        } else if (key === 'target') target = str(p, `${where}.target`, problem);
        else if (key === 'repositories') {
          repositoriesNode = p;
          const f = filterMap(p, `${where}.repositories`, REPO_FILTER_KEYS, problem);
          if (f) entry.repositories = { allow: f.allow, deny: f.deny };
        } else common(p, `${where}.`, entry, problem);
      }
      if (source === undefined || target === undefined) {
        problem(node, `${where}: an entry names both source: and target:`);
        return;
      }
      const sp = source.endsWith('/');
      const tp = target.endsWith('/');
      if (sp !== tp) {
        problem(
          sourceNode ?? node,
          `${where}: source and target both end with / (every repository under a prefix) or neither does; got source ${JSON.stringify(source)}, target ${JSON.stringify(target)}`,
        );
        return;
      }
      for (const [what, text] of [
        ['source', source],
        ['target', target],
      ] as const) {
        const t = text.replace(/\/$/, '');
        const last = t.slice(t.lastIndexOf('/') + 1);
        if (t.includes('@') || (last.includes(':') && t.includes('/'))) {
          problem(
            sourceNode ?? node,
            `${where}.${what}: names a repository, without a tag or digest (${JSON.stringify(text)}); choose tags with tags.allow`,
          );
        }
      }
      if (!sp && repositoriesNode)
        problem(repositoriesNode, `${where}.repositories: only applies to a prefix entry (source ending with /)`);
      entry.source = sp ? source.slice(0, -1) : source;
      entry.target = tp ? target.slice(0, -1) : target;
      entry.prefix = sp;
      if (!sp && entry.source === '') problem(sourceNode ?? node, `${where}.source: is empty`);
      if (entry.source.startsWith('oci:')) {
        // oci:DIR/ imports every OCI image layout under DIR (an export written by sync).
        if (!sp) {
          problem(
            sourceNode ?? node,
            `${where}.source: an oci: source is a directory of layouts ending with / (oci:DIR/), with a target prefix ending with /`,
          );
        } else if (entry.source === 'oci:') problem(sourceNode ?? node, `${where}.source: oci:/ names no directory`);
        if (entry.credentials.source) {
          problem(node, `${where}.credentials.source: an oci: source is a local directory and takes no credentials`);
        }
        if (entry.tags.since)
          problem(node, `${where}.tags.since: needs an ECR source; an oci: layout has no push times`);
      }
      if (entry.target.startsWith('oci:')) {
        // oci:DIR/ exports every repository to its own OCI image layout under DIR.
        if (!tp) {
          problem(
            node,
            `${where}.target: an oci: target is a directory of layouts ending with / (oci:DIR/), with a source prefix ending with /`,
          );
        } else if (entry.target === 'oci:') problem(node, `${where}.target: oci:/ names no directory; write oci:DIR/`);
        if (entry.existing === 'backup') {
          problem(node, `${where}.existing: backup needs a registry target; an oci: target takes overwrite or skip`);
        }
        if (entry.credentials.target) {
          problem(node, `${where}.credentials.target: an oci: target is a local directory and takes no credentials`);
        }
      }
      const key = `${entry.target}${tp ? '/' : ''}`;
      const first = targets.get(key);
      if (first !== undefined)
        problem(node, `${where}.target: ${JSON.stringify(target)} is already the target of sync[${first}]`);
      else targets.set(key, index);
      entries.push(entry);
    });
  }
  if (problems.length > 0) throw invalid(file, problems);
  return { file, defaults, entries };
}

/** Applies one of the keys entries and defaults share. */
function common(
  pair: Pair,
  prefix: string,
  into: Pick<SyncDefaults, (typeof COMMON_KEYS)[number]>,
  problem: Problem,
): void {
  const key = keyOf(pair);
  const value = pair.value as Node | null;
  const name = `${prefix}${key}`;
  switch (key) {
    case 'platforms': {
      if (isScalar(value) && value.value === 'all') into.platforms = 'all';
      else {
        const list = isScalar(value) && typeof value.value === 'string' ? [value.value] : strList(pair, name, problem);
        if (!list) return;
        const bad = list.filter((p) => !PLATFORM.test(p));
        if (bad.length > 0) problem(pair, `${name}: ${bad.join(', ')} is not os/arch[/variant] (e.g. linux/arm64)`);
        else if (list.length !== 1)
          problem(pair, `${name}: all, or one platform (several platforms out of one index are not supported yet)`);
        else into.platforms = list;
      }
      return;
    }
    case 'referrers':
    case 'createRepositories': {
      const b = bool(pair, name, problem);
      if (b !== undefined) into[key] = b;
      return;
    }
    case 'existing': {
      if (isScalar(value) && (value.value === 'skip' || value.value === 'overwrite' || value.value === 'backup'))
        into.existing = value.value;
      else problem(pair, `${name}: skip, overwrite or backup, not ${JSON.stringify(scalarText(value))}`);
      return;
    }
    case 'credentials': {
      if (!isMap(value)) {
        problem(pair, `${name}: a mapping, e.g. credentials: { target: { profile: backup } }`);
        return;
      }
      // A side named here replaces the same side of the defaults; the other side is kept.
      const creds: SyncCredentials = { ...into.credentials };
      for (const p of known(value, SIDES, `${name}.`, problem)) {
        const side = sideCredentials(p, `${name}.${keyOf(p)}`, problem);
        if (side) creds[keyOf(p) as (typeof SIDES)[number]] = side;
      }
      into.credentials = creds;
      return;
    }
    case 'tags': {
      const f = filterMap(pair, name, TAG_KEYS, problem);
      if (!f) return;
      const tags: TagFilter = { allow: f.allow, deny: f.deny };
      const range = f.map.items.find((p) => keyOf(p) === 'semver');
      if (range) {
        const v = range.value as Node | null;
        const text = isScalar(v) ? String(v.value) : '';
        if (text !== '' && semver.validRange(text) !== null) tags.semver = text;
        else
          problem(
            range,
            `${name}.semver: an npm semver range such as ">=1.4 <2", "^1.4" or "1.x", not ${JSON.stringify(scalarText(v))}`,
          );
      }
      const newest = f.map.items.find((p) => keyOf(p) === 'newest');
      if (newest) {
        const v = newest.value as Node | null;
        if (isScalar(v) && typeof v.value === 'number' && Number.isInteger(v.value) && v.value >= 1) {
          tags.newest = v.value;
        } else problem(newest, `${name}.newest: a whole number of at least 1, e.g. newest: 10`);
      }
      const since = f.map.items.find((p) => keyOf(p) === 'since');
      if (since) {
        const v = since.value as Node | null;
        const m = isScalar(v) ? /^(\d{1,5})([hdw])$/.exec(String(v.value)) : null;
        if (m && Number(m[1]) > 0) {
          const hours = { h: 1, d: 24, w: 168 }[m[2] as 'h' | 'd' | 'w'];
          tags.since = { text: m[0], ms: Number(m[1]) * hours * 3_600_000 };
        } else
          problem(
            since,
            `${name}.since: a window such as 30d, 12h or 2w (pushed since then), not ${JSON.stringify(scalarText(v))}`,
          );
      }
      into.tags = tags;
      return;
    }
    case 'repository': {
      if (!isMap(value)) {
        problem(pair, `${name}: a mapping, e.g. repository: { tagMutability: IMMUTABLE, scanOnPush: true }`);
        return;
      }
      const settings: RepositorySettings = {};
      for (const p of known(value, REPOSITORY_KEYS, `${name}.`, problem)) {
        const k = keyOf(p);
        if (k === 'tagMutability') {
          const v = str(p, `${name}.tagMutability`, problem);
          if (v === undefined) continue;
          if ((MUTABILITIES as readonly string[]).includes(v))
            settings.tagMutability = v as RepositorySettings['tagMutability'];
          else problem(p, `${name}.tagMutability: one of ${MUTABILITIES.join(', ')}, not ${JSON.stringify(v)}`);
        } else if (k === 'mutabilityExclusions') {
          const list = strList(p, `${name}.mutabilityExclusions`, problem);
          if (!list) continue;
          const bad = list.filter((f) => !MUTABILITY_EXCLUSION_FILTER.test(f));
          if (bad.length > 0)
            problem(p, `${name}.mutabilityExclusions: ${bad.join(', ')}: filters are 1-128 of a-z A-Z 0-9 . _ - *`);
          else settings.mutabilityExclusions = list;
        } else if (k === 'scanOnPush') {
          const b = bool(p, `${name}.scanOnPush`, problem);
          if (b !== undefined) settings.scanOnPush = b;
        } else if (k === 'lifecycle') {
          const v = str(p, `${name}.lifecycle`, problem);
          if (v === undefined) continue;
          const l = lifecycleOf(v, problem.at(p), `${name}.lifecycle`, problem.file, (message) =>
            problem(p, `${name}.lifecycle: ${message}`),
          );
          if (l) settings.lifecycle = l;
        }
      }
      if (settings.mutabilityExclusions && !settings.tagMutability?.endsWith('_WITH_EXCLUSION'))
        problem(
          value,
          `${name}.mutabilityExclusions: needs tagMutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION`,
        );
      into.repository = settings;
      return;
    }
  }
}

/**
 * Returns the lifecycle policy a `repository.lifecycle:` value names: a preset is rendered
 * and checked here (a bad name or parameter is a problem at its line); a file is kept as a
 * path relative to the sync config's directory, for loadSyncLifecycles to read.
 */
function lifecycleOf(
  source: string,
  at: string,
  key: string,
  configFile: string,
  report: (message: string) => void,
): SyncLifecycle | undefined {
  if (isPresetSource(source)) {
    let text: string;
    try {
      const spec = parsePresetSource(source);
      text = renderPreset(spec.name, spec.params);
    } catch (err) {
      if (!(err instanceof EcrctlError)) throw err;
      report(`${err.message}${err.fix ? ` (${err.fix})` : ''}`);
      return undefined;
    }
    const { problems } = parseLifecyclePolicy(text);
    if (problems.length > 0) {
      report(problems.map((p) => p.message).join('; '));
      return undefined;
    }
    return { source, at, key, text };
  }
  // A path: relative to the directory of the sync config (its `/`-separated dirname).
  const slash = configFile.lastIndexOf('/');
  const file = source.startsWith('/') || slash < 0 ? source : `${configFile.slice(0, slash + 1)}${source}`;
  return { source, at, key, file };
}

/** Reads the credentials of one side, checking that its keys make one way of signing in. */
function sideCredentials(pair: Pair, name: string, problem: Problem): SideCredentials | undefined {
  const value = pair.value as Node | null;
  if (!isMap(value)) {
    problem(
      pair,
      `${name}: a mapping: { profile: P } or { roleArn: arn:aws:iam::…:role/R } for ECR, { dockerConfig: DIR } or { username: U, passwordEnv: VAR } for other registries`,
    );
    return undefined;
  }
  const out: SideCredentials = { at: '' };
  let ok = true;
  for (const item of value.items) {
    const k = keyOf(item);
    if (k === 'password' || k === 'token') {
      problem(
        item,
        `${name}.${k}: a password is never written in the sync config; put it in an environment variable and name that variable with passwordEnv`,
      );
      ok = false;
    }
  }
  const rest = { items: value.items.filter((i) => keyOf(i) !== 'password' && keyOf(i) !== 'token') };
  for (const p of known(rest, SIDE_KEYS, `${name}.`, problem)) {
    const k = keyOf(p) as (typeof SIDE_KEYS)[number];
    const v = str(p, `${name}.${k}`, problem);
    if (v === undefined) {
      ok = false;
      continue;
    }
    const rule =
      k === 'roleArn'
        ? { re: ROLE_ARN, what: 'an IAM role ARN, e.g. arn:aws:iam::111122223333:role/sync' }
        : k === 'passwordEnv'
          ? { re: ENV_NAME, what: 'the NAME of an environment variable (letters, digits, _), e.g. SOURCE_PASSWORD' }
          : k === 'profile'
            ? { re: PROFILE_NAME, what: 'an AWS profile name' }
            : k === 'externalId'
              ? { re: /^[\w+=,.@:/-]{2,1224}$/, what: 'an external id (2-1224 of letters, digits, +=,.@:/-)' }
              : undefined;
    if (rule && !rule.re.test(v)) {
      problem(p, `${name}.${k}: ${rule.what}, not ${JSON.stringify(v)}`);
      ok = false;
      continue;
    }
    out[k] = v;
  }
  // Pairings are judged by the keys written, so a bad value is not reported twice.
  const has = (k: string) => rest.items.some((i) => keyOf(i) === k);
  const aws = has('profile') || has('roleArn');
  const registry = has('dockerConfig') || has('username') || has('passwordEnv');
  if (aws && registry) {
    problem(
      value,
      `${name}: profile/roleArn are for ECR registries, dockerConfig/username/passwordEnv for others; a side uses one kind`,
    );
    ok = false;
  }
  if (has('externalId') && !has('roleArn')) {
    problem(value, `${name}.externalId: goes with roleArn (the role that asks for it)`);
    ok = false;
  }
  if (has('username') !== has('passwordEnv')) {
    problem(value, `${name}: username and passwordEnv go together (passwordEnv names the variable with the password)`);
    ok = false;
  } else if (has('username') && has('dockerConfig')) {
    problem(value, `${name}: dockerConfig or username + passwordEnv, not both`);
    ok = false;
  }
  if (value.items.length === 0) {
    problem(value, `${name}: names no credentials: give profile, roleArn, dockerConfig, or username + passwordEnv`);
    ok = false;
  }
  if (!ok) return undefined;
  out.at = problem.at(value);
  return out;
}

/** Reads a mapping of `allow:` / `deny:` regular-expression lists (plus other known keys). */
function filterMap(
  pair: Pair,
  name: string,
  keys: readonly string[],
  problem: Problem,
): { allow: string[]; deny: string[]; map: YAMLMap } | undefined {
  const value = pair.value as Node | null;
  if (!isMap(value)) {
    problem(pair, `${name}: a mapping, e.g. ${name.split('.').pop()}: { allow: ['^v1\\.'], deny: ['-rc'] }`);
    return undefined;
  }
  const out = { allow: [] as string[], deny: [] as string[], map: value };
  for (const p of known(value, keys, `${name}.`, problem)) {
    const k = keyOf(p);
    if (k !== 'allow' && k !== 'deny') continue;
    const list = strList(p, `${name}.${k}`, problem);
    if (!list) continue;
    for (const re of list) {
      try {
        new RegExp(re);
      } catch (err) {
        problem(p, `${name}.${k}: ${JSON.stringify(re)} is not a regular expression (${(err as Error).message})`);
      }
    }
    out[k] = list;
  }
  return out;
}

/** Returns the pairs of map whose keys are known; reports the others. */
function known(map: Pick<YAMLMap, 'items'>, keys: readonly string[], prefix: string, problem: Problem): Pair[] {
  const out: Pair[] = [];
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (keys.includes(key)) out.push(pair);
    else if (NOT_YET[key]) problem(pair, `${prefix}${key}: ${NOT_YET[key]}`);
    else problem(pair, `unknown key '${prefix}${key}'; known keys: ${keys.join(', ')}`);
  }
  return out;
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : '?';
}

function scalarText(node: Node | null): string {
  return isScalar(node) ? String(node.value) : isSeq(node) ? 'a list' : isMap(node) ? 'a mapping' : '';
}

function str(pair: Pair, name: string, problem: Problem): string | undefined {
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'string' && v.value !== '') return v.value;
  problem(pair, `${name}: a non-empty text`);
  return undefined;
}

function bool(pair: Pair, name: string, problem: Problem): boolean | undefined {
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'boolean') return v.value;
  problem(pair, `${name}: true or false, not ${JSON.stringify(scalarText(v))}`);
  return undefined;
}

function strList(pair: Pair, name: string, problem: Problem): string[] | undefined {
  const v = pair.value as Node | null;
  if (isSeq(v) && v.items.every((i) => isScalar(i) && typeof i.value === 'string')) {
    return v.items.map((i) => String((i as { value: unknown }).value));
  }
  problem(pair, `${name}: a list of texts, e.g. ['^v1\\.', 'latest']`);
  return undefined;
}

function invalid(file: string, unsorted: string[]): RuleViolation {
  const line = (p: string) => Number(/^.*?:(\d+)/.exec(p.slice(file.length))?.[1] ?? 0);
  const problems = [...unsorted].sort((a, b) => line(a) - line(b));
  return new RuleViolation(`the sync config ${file} is not valid; nothing was done`, {
    rule: 'see `ecrctl help sync` for the keys of a sync config',
    value: file,
    fix: `fix the ${problems.length === 1 ? 'line' : 'lines'} named above`,
    problems,
  });
}

/**
 * Returns the tags of a source repository that filter keeps, in version order: those matching
 * an allow expression (any, when none is given), minus those matching a deny expression, then
 * with `newest` only the N highest.
 */
export function filterTags(tags: readonly string[], filter: TagFilter): string[] {
  const allow = filter.allow.map((r) => new RegExp(r));
  const deny = filter.deny.map((r) => new RegExp(r));
  const range = filter.semver;
  const kept = tags
    .filter((t) => (allow.length === 0 || allow.some((r) => r.test(t))) && !deny.some((r) => r.test(t)))
    .filter((t) => range === undefined || tagSatisfies(t, range))
    .sort(
      range === undefined
        ? compareVersions
        : (a, b) => semver.compare(asVersion(a), asVersion(b)) || compareVersions(a, b),
    );
  return filter.newest === undefined ? kept : kept.slice(Math.max(0, kept.length - filter.newest));
}

const VERSION_TAG = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$/;

/** Returns true when a tag reads as a version (see TagFilter.semver) that satisfies range. */
export function tagSatisfies(tag: string, range: string): boolean {
  const version = asVersion(tag);
  return semver.valid(version) !== null && semver.satisfies(version, range);
}

/** Returns a version tag as full semver text (`v1.4` → `1.4.0`), or '' when it is not one. */
function asVersion(tag: string): string {
  const m = VERSION_TAG.exec(tag);
  return m ? `${Number(m[1])}.${Number(m[2] ?? 0)}.${Number(m[3] ?? 0)}${m[4] ? `-${m[4]}` : ''}` : '';
}

/** Returns true when a repository path (under a prefix) passes an allow/deny filter. */
export function repositoryAllowed(name: string, filter: { allow: string[]; deny: string[] }): boolean {
  return (
    (filter.allow.length === 0 || filter.allow.some((r) => new RegExp(r).test(name))) &&
    !filter.deny.some((r) => new RegExp(r).test(name))
  );
}

/** Orders tags as versions: runs of digits compare as numbers (`1.10` after `1.9`), the rest as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A slice of the work: shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Returns the shard `I/N` names (1 ≤ I ≤ N ≤ 10000), or throws UsageError. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || count > 10_000 || index < 1 || index > count) {
    throw new UsageError('--shard is I/N: this run takes slice I of N (1 ≤ I ≤ N ≤ 10000)', {
      value: text,
      fix: 'write e.g. --shard 2/3',
    });
  }
  return { index, count };
}

/**
 * Returns the shard (1-based, of count) a target repository belongs to: the 32-bit FNV-1a
 * hash of its name's UTF-8 bytes, modulo count. Stable across runs, machines and Node versions.
 */
export function shardOf(repository: string, count: number): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(repository)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % count) + 1;
}

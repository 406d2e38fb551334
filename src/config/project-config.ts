// The project config, `.ecrctl.yaml`: tag rules and defaults per repository pattern, found
// upward from the working directory (or named by --config). Every problem is reported at
// once as `file:line: what is wrong`, so a broken config is fixed in one go (exit 3).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import { EcrctlError, NotFoundError, RuleViolation, type UsageError } from '../errors.js';
import { MUTABILITY_EXCLUSION_FILTER } from '../policy/naming.js';
import { parseTagStrategy, type RepositoryTagRules, type TagStrategy } from '../policy/tags.js';

/** The file name looked for in the working directory and its parents. */
export const CONFIG_FILE_NAME = '.ecrctl.yaml';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;

/** What `--create-repo` creates a repository with, from the config. */
export interface CreateDefaults {
  tagMutability?: (typeof MUTABILITIES)[number];
  mutabilityExclusions?: string[];
  scanOnPush?: boolean;
  at: string;
}

/** The settings of one `repositories:` entry. */
export interface RepositoryConfig extends RepositoryTagRules {
  strategies?: { value: TagStrategy[]; at: string };
  semverAliases?: { value: boolean; at: string };
  create?: CreateDefaults;
}

/**
 * One `registries:` entry: which registries it covers (a host pattern, an account id, a
 * region — every one given must match) and whose credentials reach them (a profile, a role
 * to assume, or both: the role assumed with the profile's credentials). An entry whose
 * `match` names a host that is not ECR's own (a custom domain, a `docker.io` mirror) and
 * that gives `account` and `region` is an alias: that host authenticates with the token of
 * the ECR registry of that account and region (default credentials unless it names some).
 */
export interface RegistryAccessConfig {
  /** Host pattern, `*` for any run of characters: `111111111111.dkr.ecr.*`. */
  match?: string;
  /** The 12-digit account id; for hosts that do not name one (ecrctl local), the registry asked for. */
  account?: string;
  region?: string;
  profile?: string;
  roleArn?: string;
  externalId?: string;
  /**
   * The pull-through cache prefix that mirrors the aliased registry inside the ECR registry
   * (`docker-hub` for `match: docker.io`): `docker.io/library/nginx` is
   * `<account>.dkr.ecr.<region>.amazonaws.com/docker-hub/library/nginx`.
   */
  prefix?: string;
  at: string;
}

/** A loaded, validated project config. */
export interface ProjectConfig {
  /** The file as messages show it (relative to the working directory when inside it). */
  file: string;
  houseRulesAsErrors?: { value: boolean; at: string };
  repositories: RepositoryConfig[];
  registries?: RegistryAccessConfig[];
}

const TOP_KEYS = ['version', 'naming', 'repositories', 'registries'];
const REGISTRY_KEYS = ['match', 'account', 'region', 'profile', 'roleArn', 'externalId', 'prefix'];
const NAMING_KEYS = ['houseRulesAsErrors'];
const REPO_KEYS = [
  'pattern',
  'production',
  'strategies',
  'semverAliases',
  'allowedTags',
  'forbid',
  'requireImmutable',
  'create',
];
const CREATE_KEYS = ['tagMutability', 'mutabilityExclusions', 'scanOnPush'];

/**
 * Returns the project config for a working directory: the file --config names (relative to
 * cwd), else the first `.ecrctl.yaml` in cwd or a parent; undefined when there is none.
 */
export async function loadProjectConfig(cwd: string, explicit?: string): Promise<ProjectConfig | undefined> {
  let file: string | undefined;
  if (explicit) {
    file = path.resolve(cwd, explicit);
    if (!(await isFile(file))) {
      throw new NotFoundError(`the config file ${explicit} does not exist`, {
        value: explicit,
        fix: 'check the --config path (or ECRCTL_CONFIG); relative paths start at the working directory',
      });
    }
  } else {
    file = await findConfigFile(cwd);
    if (!file) return undefined;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EcrctlError(`cannot read the config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const rel = path.relative(cwd, file);
  return parseProjectConfig(text, rel.startsWith('..') || path.isAbsolute(rel) ? file : rel);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Returns the path of the nearest `.ecrctl.yaml` at or above dir, or undefined. */
export async function findConfigFile(dir: string): Promise<string | undefined> {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, CONFIG_FILE_NAME);
    if (await isFile(candidate)) return candidate;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** Returns the config text describes, or throws RuleViolation listing every `file:line` problem. */
export function parseProjectConfig(text: string, file: string): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    problems.push(`${file}:${pos ? `${pos.line}:${pos.col}` : '?'}: ${e.message.split('\n')[0]}`);
  }
  const config: ProjectConfig = { file, repositories: [] };
  if (problems.length > 0) throw invalid(file, problems);

  const at = (node: Node | Pair | null | undefined): string => {
    const range =
      node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node | null)?.range : undefined;
    return `${file}:${range ? lines.linePos(range[0]).line : 1}`;
  };
  const problem = (node: Node | Pair | null | undefined, message: string) => problems.push(`${at(node)}: ${message}`);

  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return config;
  if (!isMap(root)) {
    problem(root, 'the config is a mapping with the keys naming and repositories');
    throw invalid(file, problems);
  }
  for (const pair of entries(root, TOP_KEYS, '', problem)) {
    const key = String((pair.key as { value?: unknown }).value);
    const value = pair.value as Node | null;
    if (key === 'version') {
      if (!isScalar(value) || value.value !== 1) problem(value ?? pair, 'version: only version 1 exists');
    } else if (key === 'naming') {
      if (!isMap(value)) {
        problem(value ?? pair, 'naming: is a mapping, e.g. naming: { houseRulesAsErrors: true }');
        continue;
      }
      for (const p of entries(value, NAMING_KEYS, 'naming.', problem)) {
        const b = bool(p, 'naming.houseRulesAsErrors', problem);
        if (b !== undefined) config.houseRulesAsErrors = { value: b, at: at(p) };
      }
    } else if (key === 'repositories') {
      if (!isSeq(value)) {
        problem(value ?? pair, 'repositories: is a list of entries, each starting with - pattern: …');
        continue;
      }
      value.items.forEach((item, i) => {
        const r = repositoryEntry(item as Node, `repositories[${i}]`, at, problem);
        if (r) config.repositories.push(r);
      });
    } else if (key === 'registries') {
      if (!isSeq(value)) {
        problem(
          value ?? pair,
          "registries: is a list of entries, each starting with - match: '111111111111.dkr.ecr.*' or - account: '111111111111'",
        );
        continue;
      }
      config.registries = [];
      value.items.forEach((item, i) => {
        const r = registryEntry(item as Node, `registries[${i}]`, at, problem);
        if (r) config.registries?.push(r);
      });
    }
  }
  if (problems.length > 0) throw invalid(file, problems);
  return config;
}

function invalid(file: string, problems: string[]): RuleViolation {
  return new RuleViolation(`the config file ${file} is not valid; nothing was done`, {
    rule: 'see `ecrctl help config` for the keys of .ecrctl.yaml',
    value: file,
    fix: `fix the ${problems.length === 1 ? 'line' : 'lines'} named above`,
    problems,
  });
}

type Problem = (node: Node | Pair | null | undefined, message: string) => void;

/** Returns the pairs of a map whose keys are known; reports unknown keys with a suggestion. */
function entries(map: YAMLMap, known: readonly string[], prefix: string, problem: Problem): Pair[] {
  const out: Pair[] = [];
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !known.includes(key)) {
      const near =
        key === undefined ? undefined : known.find((k) => k.toLowerCase() === key.toLowerCase() || close(k, key));
      problem(
        pair,
        `unknown key '${prefix}${key ?? '?'}'${near ? ` (did you mean '${prefix}${near}'?)` : ''}; known keys: ${known.join(', ')}`,
      );
      continue;
    }
    out.push(pair);
  }
  return out;
}

/** Returns true when a and b differ by at most two edits (enough for typos of key names). */
function close(a: string, b: string): boolean {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      row[j] = Math.min(
        (d[i - 1] as number[])[j]! + 1,
        row[j - 1]! + 1,
        (d[i - 1] as number[])[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return (d[a.length] as number[])[b.length]! <= 2;
}

function bool(pair: Pair, name: string, problem: Problem): boolean | undefined {
  const v = pair.value;
  if (isScalar(v) && typeof v.value === 'boolean') return v.value;
  problem(pair, `${name} is true or false, not ${describe(v)}`);
  return undefined;
}

function stringList(pair: Pair, name: string, problem: Problem): { value: string; node: Node }[] | undefined {
  const v = pair.value;
  if (isScalar(v) && typeof v.value === 'string') return [{ value: v.value, node: v }];
  if (!isSeq(v)) {
    problem(pair, `${name} is a list of strings, e.g. ${name}: [a, b]`);
    return undefined;
  }
  const out: { value: string; node: Node }[] = [];
  for (const item of v.items) {
    if (isScalar(item) && (typeof item.value === 'string' || typeof item.value === 'number'))
      out.push({ value: String(item.value), node: item });
    else problem(item as Node, `${name} holds strings, not ${describe(item)}`);
  }
  return out;
}

function describe(v: unknown): string {
  if (isScalar(v)) return JSON.stringify(v.value);
  if (isMap(v)) return 'a mapping';
  if (isSeq(v)) return 'a list';
  return 'nothing';
}

function repositoryEntry(
  item: Node,
  name: string,
  at: (n: Node | Pair | null | undefined) => string,
  problem: Problem,
): RepositoryConfig | undefined {
  if (!isMap(item)) {
    problem(item, `${name} is a mapping starting with pattern: (e.g. - pattern: team/*)`);
    return undefined;
  }
  const r: Partial<RepositoryConfig> = {};
  for (const pair of entries(item, REPO_KEYS, `${name}.`, problem)) {
    const key = String((pair.key as { value?: unknown }).value);
    const where = at(pair);
    switch (key) {
      case 'pattern': {
        const v = pair.value;
        if (isScalar(v) && typeof v.value === 'string' && /^[a-z0-9._\-/*?]+$/.test(v.value)) {
          r.pattern = v.value;
          r.at = where;
        } else {
          problem(
            pair,
            `${name}.pattern is a repository name pattern (lowercase letters, digits, . _ - /, and * ** ?), not ${describe(v)}`,
          );
        }
        break;
      }
      case 'production':
      case 'semverAliases':
      case 'requireImmutable': {
        const b = bool(pair, `${name}.${key}`, problem);
        if (b !== undefined) r[key] = { value: b, at: where };
        break;
      }
      case 'strategies': {
        const list = stringList(pair, `${name}.strategies`, problem) ?? [];
        const value: TagStrategy[] = [];
        for (const s of list) {
          try {
            value.push(parseTagStrategy(s.value));
          } catch (err) {
            const e = err as UsageError;
            problem(s.node, `${name}.strategies: ${e.message} (${e.rule ?? ''})`);
          }
        }
        r.strategies = { value, at: where };
        break;
      }
      case 'allowedTags': {
        const list = stringList(pair, `${name}.allowedTags`, problem) ?? [];
        r.allowedTags = [];
        for (const s of list) {
          try {
            new RegExp(`^(?:${s.value})$`);
            r.allowedTags.push({ pattern: s.value, at: at(s.node) });
          } catch (err) {
            problem(
              s.node,
              `${name}.allowedTags: ${JSON.stringify(s.value)} is not a regular expression: ${(err as Error).message}`,
            );
          }
        }
        break;
      }
      case 'forbid': {
        const list = stringList(pair, `${name}.forbid`, problem) ?? [];
        r.forbid = [];
        for (const s of list) {
          if (!/^[A-Za-z0-9_*][A-Za-z0-9._*-]{0,127}$/.test(s.value)) {
            problem(s.node, `${name}.forbid: ${JSON.stringify(s.value)} is not a tag (wildcards with * allowed)`);
          } else r.forbid.push({ tag: s.value, at: at(s.node) });
        }
        break;
      }
      case 'create': {
        const c = createDefaults(pair, `${name}.create`, where, problem);
        if (c) r.create = c;
        break;
      }
    }
  }
  if (r.pattern === undefined) {
    if (!item.items.some((p) => isScalar(p.key) && p.key.value === 'pattern'))
      problem(item, `${name} has no pattern: (e.g. pattern: team/*)`);
    return undefined;
  }
  return r as RepositoryConfig;
}

const REGISTRY_VALUE_RULES: Record<string, { re: RegExp; what: string }> = {
  match: {
    re: /^[A-Za-z0-9.*:[\]-]+$/,
    what: "a host pattern such as '111111111111.dkr.ecr.*' (letters, digits, . - : and *)",
  },
  account: { re: /^\d{12}$/, what: "a 12-digit account id, quoted: account: '111111111111'" },
  region: { re: /^[a-z]{2}(-[a-z]+)+-\d+$/, what: 'a region such as eu-west-1' },
  profile: { re: /^[^\s[\]]+$/, what: 'a profile name from ~/.aws/config' },
  roleArn: {
    re: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    what: 'a role ARN: arn:aws:iam::111111111111:role/NAME',
  },
  externalId: { re: /^[\w+=,.@:/-]{2,1224}$/, what: 'an external id (2-1224 characters)' },
  // ECR's pull-through cache rule prefix (ecrRepositoryPrefix): 2-30 characters of
  // lowercase repository-name parts.
  prefix: {
    re: /^(?=.{2,30}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    what: 'a pull-through cache prefix such as docker-hub (2-30 lowercase letters, digits, . _ - /)',
  },
};

function registryEntry(
  item: Node,
  name: string,
  at: (n: Node | Pair | null | undefined) => string,
  problem: Problem,
): RegistryAccessConfig | undefined {
  if (!isMap(item)) {
    problem(item, `${name} is a mapping, e.g. - match: '111111111111.dkr.ecr.*' with profile: prod`);
    return undefined;
  }
  const r: RegistryAccessConfig = { at: at(item) };
  for (const pair of entries(item, REGISTRY_KEYS, `${name}.`, problem)) {
    const key = String((pair.key as { value?: unknown }).value) as keyof typeof REGISTRY_VALUE_RULES;
    const v = pair.value;
    const rule = REGISTRY_VALUE_RULES[key] as { re: RegExp; what: string };
    // An unquoted account id is read as a number; take it as the digits it was written with.
    const text =
      isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')
        ? String(isScalar(v) && v.source ? v.source : v.value)
        : undefined;
    if (text === undefined || !rule.re.test(text)) {
      problem(pair, `${name}.${key} is ${rule.what}, not ${describe(v)}`);
      continue;
    }
    (r as unknown as Record<string, string>)[key] = text;
  }
  if (r.match === undefined && r.account === undefined && r.region === undefined) {
    problem(item, `${name} names no registry: give match:, account: or region:`);
    return undefined;
  }
  const alias = isAlias(r);
  if (r.prefix !== undefined && !alias) {
    problem(item, `${name}.prefix needs match:, account: and region: (the host it mirrors and the ECR registry)`);
    return undefined;
  }
  // An alias names the registry whose token it takes; the default credentials may fetch it.
  if (r.profile === undefined && r.roleArn === undefined && !alias) {
    problem(
      item,
      `${name} says nothing about credentials: give profile:, roleArn: or both (or match:, account: and region: to map a host to an ECR registry)`,
    );
    return undefined;
  }
  return r;
}

/**
 * Returns true when an entry maps a host to an ECR registry: it names the host (`match`), the
 * account and the region, so a host that names none of them (a custom domain, `docker.io`)
 * has a registry to take a token from.
 */
export function isAlias(entry: Pick<RegistryAccessConfig, 'match' | 'account' | 'region'>): boolean {
  return entry.match !== undefined && entry.account !== undefined && entry.region !== undefined;
}

// Docker Hub answers to several names: Docker asks credential helpers for
// `https://index.docker.io/v1/`, containerd for `docker.io` or `registry-1.docker.io`.
const DOCKER_HUB_NAMES = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** Returns the names a registry host is known by (Docker Hub's three, else the host itself). */
export function registryHostNames(host: string): string[] {
  const h = host.toLowerCase();
  return DOCKER_HUB_NAMES.includes(h) ? DOCKER_HUB_NAMES : [h];
}

/** Returns a regular expression for a `registries[].match` host pattern (`*` = any characters). */
export function hostPattern(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+^${}()|[\]\\?-]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

/**
 * Returns the first `registries:` entry that covers a registry host, given the account and
 * region its name carries (ECR hosts) — every criterion the entry names must hold.
 */
export function registryAccessFor(
  config: ProjectConfig | undefined,
  host: string,
  parsed: { registryId?: string; region?: string } = {},
): RegistryAccessConfig | undefined {
  const names = registryHostNames(host);
  return config?.registries?.find(
    (r) =>
      (r.match === undefined || names.some((n) => hostPattern(r.match as string).test(n))) &&
      (r.account === undefined || parsed.registryId === undefined || r.account === parsed.registryId) &&
      (r.account === undefined || parsed.registryId !== undefined || r.match !== undefined) &&
      // A host that names no region (an alias, ecrctl local) takes the entry's region.
      (r.region === undefined || r.region === parsed.region || (parsed.region === undefined && r.match !== undefined)),
  );
}

function createDefaults(pair: Pair, name: string, where: string, problem: Problem): CreateDefaults | undefined {
  const v = pair.value;
  if (!isMap(v)) {
    problem(pair, `${name} is a mapping, e.g. create: { tagMutability: IMMUTABLE, scanOnPush: true }`);
    return undefined;
  }
  const c: CreateDefaults = { at: where };
  for (const p of entries(v, CREATE_KEYS, `${name}.`, problem)) {
    const key = String((p.key as { value?: unknown }).value);
    if (key === 'scanOnPush') {
      const b = bool(p, `${name}.scanOnPush`, problem);
      if (b !== undefined) c.scanOnPush = b;
    } else if (key === 'tagMutability') {
      const m = isScalar(p.value) ? String(p.value.value) : '';
      if ((MUTABILITIES as readonly string[]).includes(m)) c.tagMutability = m as CreateDefaults['tagMutability'];
      else problem(p, `${name}.tagMutability is one of ${MUTABILITIES.join(', ')}, not ${describe(p.value)}`);
    } else {
      const list = stringList(p, `${name}.mutabilityExclusions`, problem) ?? [];
      c.mutabilityExclusions = [];
      for (const s of list) {
        if (MUTABILITY_EXCLUSION_FILTER.test(s.value)) c.mutabilityExclusions.push(s.value);
        else
          problem(
            s.node,
            `${name}.mutabilityExclusions: ${JSON.stringify(s.value)} is not a filter of letters, digits, '.', '_', '-' and '*'`,
          );
      }
    }
  }
  return c;
}

/** Returns a regular expression for a repository pattern: `*` within a segment, `**` across. */
export function repositoryPattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` also matches no directory at all.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Returns the first repositories entry whose pattern matches the repository, if any. */
export function rulesFor(config: ProjectConfig | undefined, repository: string): RepositoryConfig | undefined {
  return config?.repositories.find((r) => repositoryPattern(r.pattern).test(repository));
}

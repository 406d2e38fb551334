// Naming rules for repositories, tags, registry ids, public aliases, tag-mutability exclusion
// filters and resource tags (ECR-FACTS.md "Names"). Pure: no I/O, so tables and property
// tests can pin every rule. Validators return every problem at once, each saying which rule
// a character breaks and where, because "invalid name" alone sends people guessing.
import { RuleViolation } from '../errors.js';

/** Which rule a problem breaks, stable for scripts and tests. */
export type NameRule =
  | 'length'
  | 'lowercase'
  | 'character'
  | 'start'
  | 'end'
  | 'separator'
  | 'namespace'
  | 'count'
  | 'duplicate'
  | 'reserved'
  | 'pattern';

/** One broken rule: what, and where (1-based character position) when it is about a spot. */
export interface NameProblem {
  rule: NameRule;
  /** The sentence a user sees: the offending character and position (or length), then the rule. */
  message: string;
  position?: number;
  character?: string;
}

/** A house-rule finding: a warning, not an error, unless the project config says otherwise. */
export interface HouseRuleWarning {
  rule: 'house-characters' | 'codebuild-project';
  message: string;
  /** A name that satisfies the house rule, when one can be derived. */
  suggestion?: string;
}

export interface RepositoryNameOptions {
  /** ECR Public rules (2–205 chars, single separators, starts with a letter) instead of private. */
  public?: boolean;
}

/** The exact patterns from the ECR API model, used as the final word on validity. */
export const PRIVATE_REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
export const PUBLIC_REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const PUBLIC_ALIAS = /^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const OCI_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MUTABILITY_EXCLUSION_FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;

export const LIMITS = {
  privateName: { min: 2, max: 256 },
  publicName: { min: 2, max: 205 },
  publicAlias: { min: 2, max: 50 },
  tag: { min: 1, max: 128 },
  exclusionFilter: { min: 1, max: 128 },
  exclusionFilters: { min: 1, max: 5 },
  resourceTags: { max: 50, key: 128, value: 256 },
} as const;

// At most this many "character X is not allowed" lines: a 300-char name in capitals should
// not print 300 lines.
const MAX_CHARACTER_PROBLEMS = 8;

/** A name grammar: runs of [a-z0-9] joined by separator runs, optionally with '/' namespaces. */
interface Grammar {
  /** The plural noun used in messages ("repository names"). */
  what: string;
  min: number;
  max: number;
  namespaces: boolean;
  validSeparator(run: string): boolean;
  separatorRule: string;
  /** The first character must be a letter (public names, aliases). */
  startsWithLetter: boolean;
  /** The first run of letters and digits must be at least this long (aliases: 2). */
  firstRunMin: number;
  pattern: RegExp;
}

const PRIVATE_GRAMMAR: Grammar = {
  what: 'repository names',
  ...LIMITS.privateName,
  namespaces: true,
  validSeparator: (run) => run === '.' || run === '_' || run === '__' || /^-+$/.test(run),
  separatorRule: "between letters and digits use '.', '_', '__' or one or more '-'",
  startsWithLetter: false,
  firstRunMin: 1,
  pattern: PRIVATE_REPOSITORY_NAME,
};

const PUBLIC_GRAMMAR: Grammar = {
  what: 'public repository names',
  ...LIMITS.publicName,
  namespaces: true,
  validSeparator: (run) => run === '.' || run === '_' || run === '-',
  separatorRule: "between letters and digits use a single '.', '_' or '-'",
  startsWithLetter: true,
  firstRunMin: 1,
  pattern: PUBLIC_REPOSITORY_NAME,
};

const ALIAS_GRAMMAR: Grammar = {
  what: 'public registry aliases',
  ...LIMITS.publicAlias,
  namespaces: false,
  validSeparator: (run) => run === '.' || run === '_' || run === '-',
  separatorRule: "between letters and digits use a single '.', '_' or '-'",
  startsWithLetter: true,
  firstRunMin: 2,
  pattern: PUBLIC_ALIAS,
};

const SEPARATOR = /^[._-]$/;

/** Returns a character as a user can read it in a message, even when it is invisible. */
function show(c: string): string {
  if (c === ' ') return "' ' (space)";
  if (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(c)) return `'${c}'`;
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function lengthProblem(noun: string, length: number, min: number, max: number, what: string): NameProblem | undefined {
  if (length >= min && length <= max) return undefined;
  const range = min === max ? `exactly ${min}` : `${min}–${max}`;
  return {
    rule: 'length',
    message: `${noun} is ${plural(length, 'character')} long: ${what} have ${range} characters`,
  };
}

/** Adds character problems (capped) and returns the set of positions already reported. */
function characterProblems(
  chars: readonly string[],
  allowed: (c: string) => boolean,
  judge: (c: string) => { rule: NameRule; reason: string },
  problems: NameProblem[],
): Set<number> {
  const reported = new Set<number>();
  let extra = 0;
  chars.forEach((c, i) => {
    if (allowed(c)) return;
    reported.add(i + 1);
    if (reported.size > MAX_CHARACTER_PROBLEMS) {
      extra++;
      return;
    }
    const { rule, reason } = judge(c);
    problems.push({
      rule,
      message: `character ${show(c)} at position ${i + 1} is not allowed: ${reason}`,
      position: i + 1,
      character: c,
    });
  });
  if (extra > 0) {
    problems.push({ rule: 'character', message: `and ${plural(extra, 'more character')} that are not allowed` });
  }
  return reported;
}

/** Returns every problem of name under a grammar (empty when valid). */
function checkGrammar(name: string, g: Grammar, noun: string): NameProblem[] {
  const chars = Array.from(name);
  const problems: NameProblem[] = [];
  const length = lengthProblem(noun, chars.length, g.min, g.max, g.what);
  if (length) problems.push(length);
  if (chars.length === 0) return problems;

  const allowedChars = g.namespaces
    ? "lowercase letters, digits, '.', '_', '-' and '/'"
    : "lowercase letters, digits, '.', '_' and '-'";
  const reported = characterProblems(
    chars,
    (c) => /^[a-z0-9._-]$/.test(c) || (g.namespaces && c === '/'),
    (c) =>
      /^[A-Z]$/.test(c)
        ? { rule: 'lowercase', reason: `${g.what} are lowercase` }
        : { rule: 'character', reason: `${g.what} use only ${allowedChars}` },
    problems,
  );
  const add = (p: NameProblem) => {
    if (p.position !== undefined) {
      if (reported.has(p.position)) return;
      reported.add(p.position);
    }
    problems.push(p);
  };

  const first = chars[0] ?? '';
  if (g.startsWithLetter && !/^[a-zA-Z]$/.test(first)) {
    add({
      rule: 'start',
      message: `character ${show(first)} at position 1 is not allowed: ${g.what} start with a letter`,
      position: 1,
      character: first,
    });
  }

  // Walk the name: '/' splits namespaces, runs of '.', '_', '-' must sit between letters and
  // digits and be one of the allowed separators. Any other character counts as a letter here,
  // because it has already been reported above.
  let i = 0;
  let componentStart = 0;
  while (i <= chars.length) {
    const c = chars[i];
    if (i === chars.length || (g.namespaces && c === '/')) {
      if (i === componentStart) {
        const slash = i === chars.length ? i : i + 1; // position of the offending '/'
        if (componentStart === 0 && i < chars.length) {
          add({
            rule: 'namespace',
            message: `character '/' at position 1 is not allowed: ${g.what} cannot start with '/'`,
            position: 1,
            character: '/',
          });
        } else if (i === chars.length) {
          add({
            rule: 'namespace',
            message: `character '/' at position ${slash} is not allowed: ${g.what} cannot end with '/'`,
            position: slash,
            character: '/',
          });
        } else {
          add({
            rule: 'namespace',
            message: `'//' at position ${i} is not allowed: namespaces are separated by a single '/'`,
            position: i,
            character: '//',
          });
        }
      }
      componentStart = i + 1;
      i++;
      continue;
    }
    if (SEPARATOR.test(c ?? '')) {
      let j = i;
      while (j < chars.length && SEPARATOR.test(chars[j] ?? '')) j++;
      const run = chars.slice(i, j).join('');
      const atStart = i === componentStart;
      const atEnd = j === chars.length || (g.namespaces && chars[j] === '/');
      const shown = run.length === 1 ? `character '${run}'` : `'${run}'`;
      if (atStart) {
        const rule =
          i === 0 ? `${g.what} start with a letter or digit` : `after '/', ${g.what} continue with a letter or digit`;
        add({
          rule: 'start',
          message: `${shown} at position ${i + 1} is not allowed: ${rule}`,
          position: i + 1,
          character: run,
        });
      } else if (atEnd) {
        const rule =
          j === chars.length ? `${g.what} end with a letter or digit` : `before '/', ${g.what} have a letter or digit`;
        add({
          rule: 'end',
          message: `${shown} at position ${i + 1} is not allowed: ${rule}`,
          position: i + 1,
          character: run,
        });
      } else if (!g.validSeparator(run)) {
        add({
          rule: 'separator',
          message: `${shown} at position ${i + 1} is not allowed: ${g.separatorRule}`,
          position: i + 1,
          character: run,
        });
      } else if (componentStart === 0 && i < g.firstRunMin) {
        add({
          rule: 'start',
          message: `${shown} at position ${i + 1} is not allowed: ${g.what} start with at least ${g.firstRunMin} letters or digits before the first separator`,
          position: i + 1,
          character: run,
        });
      }
      i = j;
      continue;
    }
    i++;
  }

  // The walk mirrors the pattern; this keeps the pattern the final word should they ever differ.
  if (problems.length === 0 && !g.pattern.test(name)) {
    problems.push({ rule: 'pattern', message: `${noun} does not match the pattern of ${g.what}: ${g.pattern.source}` });
  }
  return problems;
}

/** Returns every problem with a repository name under the private or public rules (empty when valid). */
export function validateRepositoryName(name: string, opts: RepositoryNameOptions = {}): NameProblem[] {
  return checkGrammar(name, opts.public ? PUBLIC_GRAMMAR : PRIVATE_GRAMMAR, 'name');
}

/** Returns the name rewritten in house style (lowercase letters, digits, '-', '/'), or undefined when nothing usable is left. */
export function toHouseStyle(name: string, opts: RepositoryNameOptions = {}): string | undefined {
  const max = opts.public ? LIMITS.publicName.max : LIMITS.privateName.max;
  // NFKD splits 'é' into 'e' and an accent mark, so accented letters keep their base letter.
  let s = name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  s = s.replace(/[^a-z0-9/]+/g, '-');
  const tidy = (v: string) =>
    v
      .split('/')
      .map((part) => part.replace(/^-+|-+$/g, ''))
      .filter((part) => part !== '')
      .join('/');
  s = tidy(s);
  if (s === '') return undefined;
  if (opts.public && !/^[a-z]/.test(s)) s = `repo-${s}`;
  if (s.length < 2) s = `${s}-repo`;
  if (s.length > max) s = tidy(s.slice(0, max));
  return s;
}

/**
 * Returns a valid repository name close to name: the name itself when already valid,
 * otherwise lowercased, other characters turned into '-', separators collapsed and trimmed,
 * cut to the length limit. Undefined when name has no letter or digit to build on.
 */
export function suggestRepositoryName(name: string, opts: RepositoryNameOptions = {}): string | undefined {
  if (validateRepositoryName(name, opts).length === 0) return name;
  return toHouseStyle(name, opts);
}

/** Returns the rule of a repository name in one line, for error details and help. */
export function repositoryNameRule(opts: RepositoryNameOptions = {}): string {
  return opts.public
    ? "public repository names have 2–205 characters, start with a letter, use lowercase letters and digits joined by a single '.', '_' or '-', with '/' between namespaces"
    : "repository names have 2–256 characters: lowercase letters and digits joined by '.', '_', '__' or '-', with '/' between namespaces";
}

/** Throws RuleViolation (with every problem and a suggested name) unless name is a valid repository name. */
export function assertRepositoryName(name: string, opts: RepositoryNameOptions = {}): void {
  const problems = validateRepositoryName(name, opts);
  if (problems.length === 0) return;
  const suggestion = suggestRepositoryName(name, opts);
  throw new RuleViolation(`'${name}' is not a valid ${opts.public ? 'public ' : ''}repository name`, {
    rule: repositoryNameRule(opts),
    value: name,
    fix: suggestion ? `use '${suggestion}'` : "use lowercase letters and digits, e.g. 'team/payment-api'",
    problems: problems.map((p) => p.message),
  });
}

/**
 * Returns the house-rule warnings for a repository name: only lowercase letters, digits and
 * hyphens ('/' between namespaces is accepted), and in CodeBuild the name should equal the
 * project name (CODEBUILD_BUILD_ID up to the colon).
 */
export function houseRuleWarnings(
  name: string,
  env: Readonly<Record<string, string | undefined>> = {},
): HouseRuleWarning[] {
  const warnings: HouseRuleWarning[] = [];
  const offenders = new Map<string, number>();
  Array.from(name).forEach((c, i) => {
    if (!/^[a-z0-9/-]$/.test(c) && !offenders.has(c)) offenders.set(c, i + 1);
  });
  if (offenders.size > 0) {
    const list = [...offenders].map(([c, pos]) => `${show(c)} at position ${pos}`).join(', ');
    const suggestion = toHouseStyle(name);
    warnings.push({
      rule: 'house-characters',
      message: `'${name}' uses ${list}: house rule: repository names use lowercase letters, digits and hyphens only`,
      ...(suggestion ? { suggestion } : {}),
    });
  }
  const buildId = env.CODEBUILD_BUILD_ID;
  if (buildId) {
    const project = buildId.split(':')[0] ?? '';
    if (project !== '' && project !== name) {
      const suggestion = suggestRepositoryName(project);
      warnings.push({
        rule: 'codebuild-project',
        message: `'${name}' differs from the CodeBuild project name '${project}' (from CODEBUILD_BUILD_ID): house rule: name the repository after the CodeBuild project so pipelines stay matched`,
        ...(suggestion ? { suggestion } : {}),
      });
    }
  }
  return warnings;
}

/** Returns every problem with an image tag under the OCI distribution rule (empty when valid). */
export function validateImageTag(tag: string): NameProblem[] {
  const chars = Array.from(tag);
  const problems: NameProblem[] = [];
  if (chars.length === 0) {
    return [{ rule: 'length', message: 'tag is empty: tags have 1–128 characters' }];
  }
  const length = lengthProblem('tag', chars.length, LIMITS.tag.min, LIMITS.tag.max, 'tags');
  if (length) problems.push(length);
  const reported = characterProblems(
    chars,
    (c) => /^[a-zA-Z0-9._-]$/.test(c),
    (c) => ({
      rule: 'character',
      reason:
        "tags use only letters, digits, '_', '.' and '-'" +
        (c === ':' || c === '@' || c === '/' ? ' (give the tag alone, not repository:tag or a digest)' : ''),
    }),
    problems,
  );
  const first = chars[0] ?? '';
  if ((first === '.' || first === '-') && !reported.has(1)) {
    problems.push({
      rule: 'start',
      message: `character '${first}' at position 1 is not allowed: tags start with a letter, digit or '_'`,
      position: 1,
      character: first,
    });
  }
  if (problems.length === 0 && !OCI_TAG.test(tag)) {
    problems.push({ rule: 'pattern', message: `tag does not match ${OCI_TAG.source}` });
  }
  return problems;
}

/** Throws RuleViolation unless tag is a valid OCI tag. */
export function assertImageTag(tag: string): void {
  const problems = validateImageTag(tag);
  if (problems.length === 0) return;
  throw new RuleViolation(`'${tag}' is not a valid image tag`, {
    rule: "tags have 1–128 characters: letters, digits, '_', '.' and '-', not starting with '.' or '-'",
    value: tag,
    fix: "use a tag such as 'v1.2.3' or 'main-abc1234'",
    problems: problems.map((p) => p.message),
  });
}

/** Returns the problems with a registry (account) id: exactly 12 digits. */
export function validateRegistryId(id: string): NameProblem[] {
  const chars = Array.from(id);
  const problems: NameProblem[] = [];
  const length = lengthProblem('registry id', chars.length, 12, 12, 'registry ids');
  if (length) problems.push(length);
  characterProblems(
    chars,
    (c) => /^[0-9]$/.test(c),
    () => ({ rule: 'character', reason: 'registry ids are 12 digits' }),
    problems,
  );
  return problems;
}

/** Returns the problems with an ECR Public registry alias (2–50 chars, starts with a letter). */
export function validatePublicAlias(alias: string): NameProblem[] {
  return checkGrammar(alias, ALIAS_GRAMMAR, 'alias');
}

/** Returns the problems with one tag-mutability exclusion filter (wildcard filter, 1–128 chars). */
export function validateMutabilityExclusionFilter(filter: string): NameProblem[] {
  const chars = Array.from(filter);
  const problems: NameProblem[] = [];
  const length = lengthProblem(
    'filter',
    chars.length,
    LIMITS.exclusionFilter.min,
    LIMITS.exclusionFilter.max,
    'exclusion filters',
  );
  if (length) problems.push(length);
  characterProblems(
    chars,
    (c) => /^[0-9a-zA-Z._*-]$/.test(c),
    () => ({
      rule: 'character',
      reason: "exclusion filters use only letters, digits, '.', '_', '-' and the wildcard '*'",
    }),
    problems,
  );
  return problems;
}

/** Returns the problems with a list of exclusion filters: 1–5 of them, each valid. */
export function validateMutabilityExclusionFilters(filters: readonly string[]): NameProblem[] {
  const problems: NameProblem[] = [];
  const { min, max } = LIMITS.exclusionFilters;
  if (filters.length < min || filters.length > max) {
    problems.push({
      rule: 'count',
      message: `${plural(filters.length, 'exclusion filter')} given: tag mutability takes ${min}–${max}`,
    });
  }
  filters.forEach((f, i) => {
    for (const p of validateMutabilityExclusionFilter(f)) {
      problems.push({ ...p, message: `filter ${i + 1} ('${f}'): ${p.message}` });
    }
  });
  return problems;
}

/** A resource tag on a repository (AWS tags, not image tags). */
export interface ResourceTag {
  key: string;
  value: string;
}

/** Returns the problems with a repository's resource tags: at most 50, key 1–128, value ≤ 256 chars. */
export function validateResourceTags(tags: readonly ResourceTag[] | Readonly<Record<string, string>>): NameProblem[] {
  const list: ResourceTag[] = Array.isArray(tags)
    ? [...(tags as readonly ResourceTag[])]
    : Object.entries(tags as Record<string, string>).map(([key, value]) => ({ key, value }));
  const problems: NameProblem[] = [];
  const { max, key: keyMax, value: valueMax } = LIMITS.resourceTags;
  if (list.length > max) {
    problems.push({ rule: 'count', message: `${list.length} tags given: a repository has at most ${max} tags` });
  }
  const seen = new Set<string>();
  for (const { key, value } of list) {
    const keyLength = Array.from(key).length;
    const shownKey = keyLength > 40 ? `${Array.from(key).slice(0, 40).join('')}…` : key;
    if (keyLength === 0) problems.push({ rule: 'length', message: 'tag key is empty: keys have 1–128 characters' });
    if (keyLength > keyMax) {
      problems.push({
        rule: 'length',
        message: `tag key '${shownKey}' is ${keyLength} characters long: keys have at most ${keyMax} characters`,
      });
    }
    const valueLength = Array.from(value).length;
    if (valueLength > valueMax) {
      problems.push({
        rule: 'length',
        message: `value of tag '${shownKey}' is ${valueLength} characters long: values have at most ${valueMax} characters`,
      });
    }
    // AWS reserves the aws: prefix for its own tags and rejects it in requests.
    if (/^aws:/i.test(key))
      problems.push({ rule: 'reserved', message: `tag key '${shownKey}' starts with 'aws:', which AWS reserves` });
    if (seen.has(key)) problems.push({ rule: 'duplicate', message: `tag key '${shownKey}' is given more than once` });
    seen.add(key);
  }
  return problems;
}

// Ready-made policies for the clean-ups people write by hand again and again. Each renders to
// policy JSON text that passes parseLifecyclePolicy (the tests check every preset).
import { UsageError } from '../../errors.js';
import type { LifecyclePolicy, LifecycleRule } from './types.js';
import { MAX_RULES } from './validate.js';
import { plural } from '../../text.js';

interface ParamSpec {
  name: string;
  /** Absent: required. */
  default?: string;
  kind: 'count' | 'text' | 'majors';
  help: string;
}

interface Preset {
  name: string;
  summary: string;
  params: ParamSpec[];
  build(p: Record<string, string>): LifecycleRule[];
}

const PRESETS: Preset[] = [
  {
    name: 'keep-last-n-tagged',
    summary: 'keep the newest COUNT images with a tag starting with PREFIX; expire older ones',
    params: [
      { name: 'prefix', kind: 'text', help: 'tag prefix, e.g. main- or release-' },
      { name: 'count', kind: 'count', default: '10', help: 'images to keep' },
    ],
    build: (p) => [
      rule(1, `Keep the newest ${plural(Number(p.count), 'image')} tagged ${p.prefix}*`, {
        tagStatus: 'tagged',
        tagPatternList: [`${p.prefix}*`],
        countType: 'imageCountMoreThan',
        countNumber: Number(p.count),
      }),
    ],
  },
  {
    name: 'expire-untagged',
    summary: 'expire untagged images DAYS days after they were pushed',
    params: [{ name: 'days', kind: 'count', default: '14', help: 'age in days' }],
    build: (p) => [
      rule(1, `Expire untagged images older than ${plural(Number(p.days), 'day')}`, {
        tagStatus: 'untagged',
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: Number(p.days),
      }),
    ],
  },
  {
    name: 'archive-not-pulled',
    summary: 'move images not pulled for DAYS days (never pulled: since push) to the archive storage class',
    params: [{ name: 'days', kind: 'count', default: '90', help: 'days since the last pull' }],
    build: (p) => [
      rule(
        1,
        `Archive images not pulled for ${plural(Number(p.days), 'day')}`,
        { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: Number(p.days) },
        { type: 'transition', targetStorageClass: 'archive' },
      ),
    ],
  },
  {
    name: 'keep-last-n-per-major',
    summary: 'for each major version in MAJORS (tags PREFIX<major>.*), keep the newest COUNT images',
    params: [
      { name: 'majors', kind: 'majors', help: 'major versions, comma-separated, e.g. 1,2,3' },
      { name: 'count', kind: 'count', default: '5', help: 'images to keep per major version' },
      { name: 'prefix', kind: 'text', default: 'v', help: 'text before the major number (empty for tags like 1.2.3)' },
    ],
    // One rule per major: "v1.*" holds one wildcard, well inside ECR's four, and does not
    // catch v10.x (it needs the dot right after the number).
    build: (p) =>
      majorsOf(p.majors ?? '').map((major, i) =>
        rule(i + 1, `Keep the newest ${plural(Number(p.count), 'image')} of ${p.prefix}${major}.x`, {
          tagStatus: 'tagged',
          tagPatternList: [`${p.prefix}${major}.*`],
          countType: 'imageCountMoreThan',
          countNumber: Number(p.count),
        }),
      ),
  },
];

function rule(
  rulePriority: number,
  description: string,
  selection: LifecycleRule['selection'],
  action: LifecycleRule['action'] = { type: 'expire' },
): LifecycleRule {
  return { rulePriority, description, selection, action };
}

function majorsOf(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Returns the presets with their parameter names, for `lifecycle presets`. */
export function listPresets(): { name: string; summary: string; params: string[] }[] {
  return PRESETS.map((p) => ({
    name: p.name,
    summary: p.summary,
    params: p.params.map((s) => (s.default === undefined ? s.name : `${s.name}=${s.default}`)),
  }));
}

/** Returns the policy JSON text of a preset with its parameters filled in (throws UsageError on bad ones). */
export function renderPreset(name: string, params: Record<string, string>): string {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new UsageError(`unknown lifecycle preset "${name}"`, {
      value: name,
      fix: `use one of: ${PRESETS.map((p) => p.name).join(', ')}`,
    });
  }
  const known = preset.params.map((s) => s.name);
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      throw new UsageError(`preset ${name} has no parameter "${key}"`, {
        value: key,
        fix: `its parameters are: ${known.join(', ')}`,
      });
    }
  }
  const values: Record<string, string> = {};
  for (const spec of preset.params) {
    const value = params[spec.name] ?? spec.default;
    if (value === undefined) {
      throw new UsageError(`preset ${name} needs the parameter "${spec.name}" (${spec.help})`, {
        fix: `pass --param ${spec.name}=${example(spec)} (or write preset:${name},${spec.name}=${example(spec)})`,
      });
    }
    checkParam(name, spec, value);
    values[spec.name] = value;
  }
  const policy: LifecyclePolicy = { rules: preset.build(values) };
  if (policy.rules.length > MAX_RULES) {
    throw new UsageError(`preset ${name} would need ${policy.rules.length} rules; ECR allows at most ${MAX_RULES}`, {
      fix: 'list fewer values',
    });
  }
  return JSON.stringify(policy, null, 2);
}

function example(spec: ParamSpec): string {
  return spec.kind === 'majors' ? '1,2,3' : spec.kind === 'count' ? '10' : 'release-';
}

function checkParam(preset: string, spec: ParamSpec, value: string): void {
  const bad = (rule: string, fix: string) => {
    throw new UsageError(`preset ${preset}: parameter ${spec.name} ${rule}`, { value, fix });
  };
  switch (spec.kind) {
    case 'count':
      if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value)))
        bad('must be a whole number from 1 up', `e.g. --param ${spec.name}=10`);
      return;
    case 'majors': {
      const majors = majorsOf(value);
      if (majors.length === 0 || majors.some((m) => !/^(0|[1-9][0-9]*)$/.test(m))) {
        bad('must list major version numbers separated by commas', `e.g. --param ${spec.name}=1,2,3`);
      }
      if (new Set(majors).size !== majors.length) bad('lists a major version twice', 'list each major version once');
      return;
    }
    default:
      // Tag text: what ECR allows in a tag; a `*` here would add wildcards behind the user's back.
      if (value !== '' && !/^[A-Za-z0-9_.-]+$/.test(value)) {
        bad('may hold only letters, digits, "_", "." and "-"', 'pass the literal start of the tags, without wildcards');
      }
  }
}

/** A preset as named on the command line or in a config file: its name and parameters. */
export interface PresetSpec {
  name: string;
  params: Record<string, string>;
}

/** Returns true when a policy source names a preset (`preset:NAME…`) rather than a file. */
export function isPresetSource(source: string): boolean {
  return source.startsWith('preset:');
}

/**
 * Returns the preset name and parameters of `preset:NAME[,k=v…]` (the `preset:` prefix is
 * optional) merged with `--param k=v` values: the one syntax of every command and config that
 * takes a preset. A value may hold commas (`majors=1,2,3`); a key given twice with different
 * values is a UsageError naming both.
 */
export function parsePresetSource(source: string, extra: readonly string[] = []): PresetSpec {
  const body = isPresetSource(source) ? source.slice('preset:'.length) : source;
  const [name = '', ...rest] = body.split(',');
  if (name === '') {
    throw new UsageError(`"${source}" names no preset`, {
      value: source,
      fix: `write preset:NAME, e.g. preset:expire-untagged,days=7 (presets: ${PRESETS.map((p) => p.name).join(', ')})`,
    });
  }
  const params: Record<string, string> = {};
  const origin: Record<string, string> = {};
  const set = (key: string, value: string, from: string) => {
    const had = params[key];
    if (had !== undefined && had !== value) {
      throw new UsageError(
        `preset parameter ${key} is given twice with different values: ${key}=${had} (${origin[key]}) and ${key}=${value} (${from})`,
        { value: `${key}=${had} ${key}=${value}`, fix: `give ${key} once` },
      );
    }
    params[key] = value;
    origin[key] = from;
  };
  // Commas separate parameters, but a part without "=" continues the value before it.
  const pairs: string[] = [];
  for (const part of rest) {
    if (part.includes('=') || pairs.length === 0) pairs.push(part);
    else pairs[pairs.length - 1] = `${pairs[pairs.length - 1]},${part}`;
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`${source}: preset parameters are key=value`, {
        value: pair,
        fix: `write e.g. preset:${name},days=7 or preset:${name} --param days=7`,
      });
    }
    set(pair.slice(0, eq), pair.slice(eq + 1), `in ${source}`);
  }
  for (const item of extra) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError('--param takes key=value', { value: item, fix: 'e.g. --param count=10' });
    set(item.slice(0, eq), item.slice(eq + 1), `--param ${item}`);
  }
  return { name, params };
}

/** Returns the policy JSON text of a preset source (`preset:NAME[,k=v…]` plus `--param` values). */
export function renderPresetSource(source: string, extra: readonly string[] = []): string {
  const { name, params } = parsePresetSource(source, extra);
  return renderPreset(name, params);
}

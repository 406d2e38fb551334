// Reading what users hand ecrctl as files: any text file (or standard input), a lifecycle
// policy given as a file or a preset, and a repository policy document. One place, so every
// command words a missing file and a broken document the same way.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EcrctlError, NotFoundError, RuleViolation, UsageError } from '../errors.js';
import type { CliContext } from './context.js';

/** ECR's limit on repository and registry policy text. */
export const POLICY_MAX_CHARS = 10_240;

/**
 * Returns the text of a file named on the command line (relative to the working directory),
 * or of standard input for `-`; NotFoundError (exit 6) when the file does not exist.
 */
export async function readInputFile(ctx: CliContext, file: string, what: string): Promise<string> {
  if (file === '-') return ctx.readStdin();
  try {
    return await readFile(path.resolve(ctx.cwd, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${what} file ${file} does not exist`, {
        value: file,
        fix: 'check the path (relative paths start at the working directory)',
        cause: err,
      });
    }
    throw new EcrctlError(`cannot read ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Returns the preset name and parameters of `preset:NAME[,k=v...]`; values may hold commas (majors=1,2,3). */
export function parsePresetSpec(text: string): { name: string; params: Record<string, string> } {
  const [name = '', ...rest] = text.slice('preset:'.length).split(',');
  const params: Record<string, string> = {};
  let last: string | undefined;
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (last === undefined) {
        throw new UsageError(`--lifecycle ${text}: preset parameters are key=value`, {
          value: part,
          fix: 'write e.g. preset:expire-untagged,days=7',
        });
      }
      params[last] = `${params[last]},${part}`;
      continue;
    }
    last = part.slice(0, eq);
    params[last] = part.slice(eq + 1);
  }
  return { name, params };
}

/**
 * Returns the lifecycle policy text that `--lifecycle FILE|preset:NAME[,k=v...]` names,
 * validated; throws RuleViolation with every problem (nothing is sent to ECR).
 */
export async function lifecyclePolicyText(ctx: CliContext, source: string): Promise<string> {
  const lifecycle = await import('../policy/lifecycle/index.js');
  const { formatProblem } = await import('../policy/lifecycle/report.js');
  let text: string;
  if (source.startsWith('preset:')) {
    const { name, params } = parsePresetSpec(source);
    text = lifecycle.renderPreset(name, params);
  } else {
    text = await readInputFile(ctx, source, 'lifecycle policy');
  }
  const { problems } = lifecycle.parseLifecyclePolicy(text);
  if (problems.length > 0) {
    throw new RuleViolation(`the lifecycle policy ${source} is not valid; nothing was created`, {
      rule: 'lifecycle policies follow the ECR lifecycle policy rules (see `ecrctl lifecycle validate`)',
      value: source,
      fix: 'fix the problems listed above; `ecrctl lifecycle validate FILE` checks a policy on its own',
      problems: problems.map(formatProblem),
    });
  }
  return text;
}

/**
 * Returns the repository policy text of `--policy FILE`: at most 10,240 characters, JSON
 * (line and column on syntax errors), with a Statement; RuleViolation otherwise.
 */
export async function repositoryPolicyText(ctx: CliContext, file: string): Promise<string> {
  const text = await readInputFile(ctx, file, 'repository policy');
  const rule = 'a repository policy is a JSON IAM policy document of at most 10,240 characters';
  if (text.length > POLICY_MAX_CHARS) {
    throw new RuleViolation(
      `the repository policy ${file} is ${text.length} characters; ECR allows at most ${POLICY_MAX_CHARS}`,
      {
        rule,
        value: file,
        fix: 'remove whitespace, or merge statements (e.g. list several principals in one statement)',
      },
    );
  }
  const { JsonSyntaxError, lineColumnOf, parseJsonWithPositions, toPlain } = await import(
    '../policy/lifecycle/json.js'
  );
  let doc: unknown;
  try {
    doc = toPlain(parseJsonWithPositions(text));
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = lineColumnOf(text)(err.offset);
    throw new RuleViolation(
      `the repository policy ${file} is not valid JSON: line ${line}, column ${column}: ${err.message}`,
      {
        rule,
        value: file,
        fix: `fix the JSON at line ${line}, column ${column}`,
      },
    );
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !('Statement' in doc)) {
    throw new RuleViolation(`the repository policy ${file} is not a policy document: it has no "Statement"`, {
      rule,
      value: file,
      fix: 'write {"Version":"2012-10-17","Statement":[{"Sid":"…","Effect":"Allow","Principal":{…},"Action":[…]}]}',
    });
  }
  return text;
}

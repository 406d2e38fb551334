// Policy texts handed in from outside (a file, standard input, a preset, a library caller):
// a lifecycle policy given as a file or `preset:NAME[,k=v…]`, and a repository policy
// document. Checked here before anything is sent to ECR, so the CLI and the ops word a
// broken document the same way. Pure: no I/O.
import { RuleViolation, UsageError } from '../errors.js';
import { POLICY_MAX_CHARS } from './iam.js';
import { formatProblem } from './lifecycle/report.js';
import { parseLifecyclePolicy, renderPreset } from './lifecycle/index.js';
import { JsonSyntaxError, lineColumnOf, parseJsonWithPositions, toPlain } from './lifecycle/json.js';

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

/** Returns the policy text of `preset:NAME[,k=v…]` (rendered), or undefined for another source. */
export function presetPolicyText(source: string): string | undefined {
  if (!source.startsWith('preset:')) return undefined;
  const { name, params } = parsePresetSpec(source);
  return renderPreset(name, params);
}

/**
 * Returns a lifecycle policy text unchanged when ECR would accept it; RuleViolation with every
 * problem otherwise (`source` names it in the message: a file, a preset, "lifecyclePolicy").
 */
export function checkLifecyclePolicyText(text: string, source: string): string {
  const { problems } = parseLifecyclePolicy(text);
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
 * Returns a repository policy text unchanged when it is at most 10,240 characters of JSON
 * with a Statement; RuleViolation otherwise (line and column on a syntax error).
 */
export function checkRepositoryPolicyText(text: string, file: string): string {
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

// Policy texts handed in from outside (a file, standard input, a preset, a library caller):
// a lifecycle policy given as a file or `preset:NAME[,k=v…]`, and a repository policy
// document. Checked here before anything is sent to ECR, so the CLI and the ops word a
// broken document the same way. Pure: no I/O.
import { RuleViolation, UsageError } from '../errors.js';
import { POLICY_MAX_CHARS } from './iam.js';
import {
  isPresetSource,
  type PresetSpec,
  parseLifecyclePolicy,
  parsePresetSource,
  renderPresetSource,
} from './lifecycle/index.js';
import { JsonSyntaxError, lineColumnOf, parseJsonWithPositions, toPlain } from './lifecycle/json.js';
import { formatFileProblems, lifecycleFileProblems } from './problems.js';

/** Returns the preset name and parameters of `preset:NAME[,k=v...]`; values may hold commas (majors=1,2,3). */
export function parsePresetSpec(text: string): PresetSpec {
  return parsePresetSource(text);
}

/**
 * Returns the policy text of `preset:NAME[,k=v…]` with `--param k=v` values merged in
 * (rendered), or undefined for another source (a file). `--param` without a preset is a UsageError.
 */
export function presetPolicyText(source: string, params: readonly string[] = []): string | undefined {
  if (!isPresetSource(source)) {
    if (params.length > 0) {
      throw new UsageError('--param works only with a policy given as preset:NAME', {
        value: params.join(' '),
        fix: `drop --param, or name a preset (see \`ecrctl lifecycle presets\`)`,
      });
    }
    return undefined;
  }
  return renderPresetSource(source, params);
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
      problems: formatFileProblems(lifecycleFileProblems(source, problems)),
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

// Reading what users hand ecrctl as files: any text file (or standard input), a lifecycle
// policy given as a file or a preset, and a repository policy document (checked by
// src/policy/policy-text.ts). One place, so every command words a missing file the same way.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EcrctlError, NotFoundError } from '../errors.js';
import type { CliContext } from './context.js';

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

/**
 * Returns the lifecycle policy text that `--lifecycle FILE|preset:NAME[,k=v...]` names,
 * validated; throws RuleViolation with every problem (nothing is sent to ECR).
 */
export async function lifecyclePolicyText(ctx: CliContext, source: string): Promise<string> {
  // Loaded here, not at start-up: the lifecycle rules and YAML are not needed for --help.
  const { checkLifecyclePolicyText, presetPolicyText } = await import('../policy/policy-text.js');
  const text = presetPolicyText(source) ?? (await readInputFile(ctx, source, 'lifecycle policy'));
  return checkLifecyclePolicyText(text, source);
}

/** Returns the repository policy text of `--policy FILE`, checked (checkRepositoryPolicyText). */
export async function repositoryPolicyText(ctx: CliContext, file: string): Promise<string> {
  const { checkRepositoryPolicyText } = await import('../policy/policy-text.js');
  return checkRepositoryPolicyText(await readInputFile(ctx, file, 'repository policy'), file);
}

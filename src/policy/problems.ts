// The one way every validator of a file (lifecycle policies, repository and registry
// policies, the emulator's advisory file) reports its problems: sorted by position, one line
// each, `FILE:line:column field: problem — fix`, and the same fields in JSON. Editors and CI
// annotators read this shape (it is what compilers print), and a person reads the file top
// to bottom. Pure: no I/O.
import type { PolicyProblem } from './iam.js';
import type { LifecycleProblem } from './lifecycle/types.js';

/** One problem a validator found in a file, in the shape every validator prints. */
export interface FileProblem {
  /** The file as the user named it (`<stdin>` for standard input). */
  file: string;
  /** 1-based line; absent for a problem of the whole file (its size). */
  line?: number;
  /** 1-based column (with line). */
  column?: number;
  /** Where inside the document: `rules[1].selection.countUnit`, `Statement[0].Effect`, `[2].ecosystem`. */
  field?: string;
  /** What is wrong. */
  problem: string;
  /** What to do about it. */
  fix?: string;
}

/** Returns how a file named on the command line is named in problems (`-` is standard input). */
export function problemFileName(file: string): string {
  return file === '-' ? '<stdin>' : file;
}

/**
 * Returns the problems in the order of the file: problems of the whole file (no line) first,
 * then by line and column; problems at the same place keep the validator's order.
 */
export function sortProblems(problems: readonly FileProblem[]): FileProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

/** Returns one problem as `FILE:line:column field: problem — fix` (parts that are absent left out). */
export function formatFileProblem(p: FileProblem): string {
  const at = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  const where = p.field !== undefined && p.field !== '' ? `${at} ${p.field}` : at;
  return `${where}: ${p.problem}${p.fix ? ` — ${p.fix}` : ''}`;
}

/** Returns the problems sorted by position, one formatted line each. */
export function formatFileProblems(problems: readonly FileProblem[]): string[] {
  return sortProblems(problems).map(formatFileProblem);
}

/** Returns a lifecycle policy's problems as FileProblems of file (the rule goes into the field). */
export function lifecycleFileProblems(file: string, problems: readonly LifecycleProblem[]): FileProblem[] {
  return sortProblems(
    problems.map((p) => {
      const inRule = p.ruleIndex !== undefined ? `rules[${p.ruleIndex}]` : undefined;
      const field = inRule !== undefined ? (p.field !== undefined ? `${inRule}.${p.field}` : inRule) : p.field;
      return fileProblem(problemFileName(file), p.line, p.column, field, p.message, p.fix);
    }),
  );
}

/** Returns a repository or registry policy's problems as FileProblems of file. */
export function policyFileProblems(file: string, problems: readonly PolicyProblem[]): FileProblem[] {
  return sortProblems(
    problems.map((p) => fileProblem(problemFileName(file), p.line, p.column, p.field, p.message, p.fix)),
  );
}

function fileProblem(
  file: string,
  line: number | undefined,
  column: number | undefined,
  field: string | undefined,
  problem: string,
  fix: string | undefined,
): FileProblem {
  return {
    file,
    ...(line !== undefined ? { line, column: column ?? 1 } : {}),
    ...(field !== undefined ? { field } : {}),
    problem,
    ...(fix !== undefined ? { fix } : {}),
  };
}

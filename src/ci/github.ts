// GitHub Actions and CodeBuild: which CI runs us, log groups, step outputs ($GITHUB_OUTPUT)
// and the step summary, and what a push or promote reports there.
import { appendFileSync } from 'node:fs';

/** The CI system ecrctl runs in, if any. */
export type CiSystem = 'github-actions' | 'codebuild' | undefined;

/** Returns the CI system from its variables. */
export function detectCi(env: NodeJS.ProcessEnv): CiSystem {
  if (env.GITHUB_ACTIONS === 'true') return 'github-actions';
  if (env.CODEBUILD_BUILD_ID) return 'codebuild';
  return undefined;
}

/**
 * Starts a collapsible log section in GitHub Actions (`::group::` on stderr, which the runner
 * reads as it reads stdout, so stdout keeps only data); returns the function that ends it.
 * Outside GitHub Actions it does nothing.
 */
export function startGroup(env: NodeJS.ProcessEnv, write: (line: string) => void, title: string): () => void {
  if (env.GITHUB_ACTIONS !== 'true') return () => {};
  write(`::group::${title.replace(/[\r\n]+/g, ' ')}\n`);
  let open = true;
  return () => {
    if (open) write('::endgroup::\n');
    open = false;
  };
}

/** Appends Markdown to $GITHUB_STEP_SUMMARY in GitHub Actions; returns true when it wrote. */
export function appendStepSummary(env: NodeJS.ProcessEnv, markdown: string): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (env.GITHUB_ACTIONS !== 'true' || !file) return false;
  appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return true;
}

/** Returns text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** Returns a Markdown table (header row, separator, rows). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** What a push (or promote) reports to the step summary. */
export interface PushSummary {
  verb: string;
  imageUri: string;
  digest: string;
  tags: readonly string[];
  unchangedTags: readonly string[];
  detail: string;
}

/** Returns the step summary of a push: a heading and one table. */
export function pushSummaryMarkdown(s: PushSummary): string {
  const tags = s.tags.map((t) => (s.unchangedTags.includes(t) ? `\`${t}\` (unchanged)` : `\`${t}\``)).join(', ');
  return `### ecrctl ${s.verb}\n\n${markdownTable(['Image', 'Digest', 'Tags', 'Transfer'], [[`\`${s.imageUri}\``, `\`${s.digest}\``, tags, s.detail]])}\n`;
}

/**
 * Appends name=value outputs to $GITHUB_OUTPUT (multi-line values use the heredoc form),
 * when running in GitHub Actions. Returns true when it wrote.
 */
export function writeGitHubOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string>): boolean {
  const file = env.GITHUB_OUTPUT;
  if (env.GITHUB_ACTIONS !== 'true' || !file) return false;
  let text = '';
  for (const [k, v] of Object.entries(outputs)) {
    if (v.includes('\n')) {
      const marker = `ecrctl_${Math.random().toString(36).slice(2)}`;
      text += `${k}<<${marker}\n${v}\n${marker}\n`;
    } else {
      text += `${k}=${v}\n`;
    }
  }
  appendFileSync(file, text);
  return true;
}

/**
 * Writes a push's (or promote's) results to $GITHUB_OUTPUT (`image-uri`, `image-digest`,
 * `image-tags`) and $GITHUB_STEP_SUMMARY when in GitHub Actions; does nothing elsewhere.
 */
export function reportPushToGitHub(env: NodeJS.ProcessEnv, r: PushSummary): void {
  if (env.GITHUB_ACTIONS !== 'true') return;
  writeGitHubOutputs(env, { 'image-uri': r.imageUri, 'image-digest': r.digest, 'image-tags': r.tags.join(',') });
  appendStepSummary(env, pushSummaryMarkdown(r));
}

// Build facts from `git` in the working directory: the commit, the branch and a version tag
// on HEAD. Asked only for what the CI variables did not give, through the one exec seam.
import { execProcess, type ExecFn } from '../oci/transport/exec.js';
import { type BuildFacts, parseSemver } from '../policy/tags.js';

/** What git gave, and for each fact it could not give, why. */
export interface GitFacts {
  facts: BuildFacts;
  notes: Partial<Record<keyof BuildFacts, string>>;
}

/**
 * Returns the facts git knows about the checkout in cwd, for the facts asked for. Never
 * throws for git's absence or a directory that is not a repository: that becomes a note.
 */
export async function gitFacts(
  cwd: string,
  env: NodeJS.ProcessEnv,
  wanted: ReadonlySet<keyof BuildFacts>,
  opts: { exec?: ExecFn; signal?: AbortSignal } = {},
): Promise<GitFacts> {
  const exec = opts.exec ?? execProcess;
  const facts: BuildFacts = {};
  const notes: GitFacts['notes'] = {};
  const git = async (args: string[]) => {
    const r = await exec('git', ['-C', cwd, ...args], {
      env: { ...env, GIT_TERMINAL_PROMPT: '0' },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { ok: r.exitCode === 0, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const noteAll = (why: string) => {
    for (const k of wanted) notes[k] = why;
  };
  let head: { ok: boolean; out: string; err: string };
  try {
    head = await git(['rev-parse', 'HEAD']);
  } catch {
    noteAll('git is not installed');
    return { facts, notes };
  }
  if (!head.ok) {
    noteAll(
      /not a git repository/i.test(head.err)
        ? `${cwd} is not a git repository`
        : `git rev-parse HEAD failed: ${head.err.split('\n')[0]}`,
    );
    return { facts, notes };
  }
  if (wanted.has('commit')) facts.commit = { value: head.out, from: 'git rev-parse HEAD' };
  if (wanted.has('branch')) {
    const b = await git(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    if (b.ok && b.out) facts.branch = { value: b.out, from: 'git symbolic-ref HEAD' };
    else notes.branch = 'HEAD is detached (no branch checked out)';
  }
  if (wanted.has('versionTag')) {
    const t = await git(['tag', '--points-at', 'HEAD']);
    const versions = (t.ok ? t.out.split('\n') : []).map((s) => s.trim()).filter((s) => parseSemver(s) !== undefined);
    // With several version tags on one commit, the highest wins (v1.2.0 and v1.2 aliases).
    versions.sort((a, b) => compareSemver(b, a));
    const best = versions[0];
    if (best) facts.versionTag = { value: best, from: 'git tag --points-at HEAD' };
    else notes.versionTag = 'no version tag (v1.2.3) points at HEAD';
  }
  return { facts, notes };
}

function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return 0;
  return (
    x.major - y.major || x.minor - y.minor || x.patch - y.patch || (x.prerelease ? -1 : 0) - (y.prerelease ? -1 : 0)
  );
}

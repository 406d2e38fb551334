// Settings of a sync run that need I/O before anything is read or written: the lifecycle
// policy files the config names (read and checked, so a broken one stops the run with its
// file:line before any API call) and the pull-time update exclusion of the sync's identity
// (registered at every ECR registry the run touches, so its manifest reads are not pulls).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { registerPullTimeExclusion } from '../ecr/images.js';
import type { EcrConnection } from '../ecr/repositories.js';
import { RuleViolation } from '../errors.js';
import { parseLifecyclePolicy } from '../policy/lifecycle/index.js';
import type { SyncConfig, SyncLifecycle } from '../policy/sync-config.js';
import type { Session } from '../session.js';

/**
 * Reads and checks every lifecycle policy file the config names (`repository.lifecycle:` with
 * a path, relative to the sync config), filling in its text; throws RuleViolation (exit 3)
 * listing each problem as `config:line: …lifecycle: policy-file:line: message`.
 */
export async function loadSyncLifecycles(session: Session, config: SyncConfig): Promise<void> {
  const all = [config.defaults.repository.lifecycle, ...config.entries.map((e) => e.repository.lifecycle)];
  const pending = [...new Set(all.filter((l): l is SyncLifecycle => l?.file !== undefined && l.text === undefined))];
  if (pending.length === 0) return;
  const problems: string[] = [];
  const texts = new Map<string, Promise<string>>();
  for (const l of pending) {
    const file = path.resolve(session.cwd, l.file!);
    let text: string;
    try {
      if (!texts.has(file)) texts.set(file, readFile(file, 'utf8'));
      text = await texts.get(file)!;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problems.push(`${l.at}: ${l.key}: cannot read the lifecycle policy ${l.file}: ${code}`);
      continue;
    }
    const found = parseLifecyclePolicy(text).problems;
    if (found.length > 0) {
      for (const p of found) {
        const where = p.line !== undefined ? `${l.file}:${p.line}` : l.file;
        problems.push(`${l.at}: ${l.key}: ${where}: ${p.message}`);
      }
      continue;
    }
    l.text = text;
  }
  if (problems.length > 0) {
    throw new RuleViolation(
      `the sync config ${config.file} names a lifecycle policy that is not valid; nothing was done`,
      {
        rule: 'lifecycle policies follow the ECR lifecycle policy rules (see `ecrctl lifecycle validate`)',
        value: config.file,
        fix: 'fix the policy (`ecrctl lifecycle validate FILE` checks it on its own) or name a preset:NAME',
        problems: [...new Set(problems)],
      },
    );
  }
}

/**
 * Puts principalArn on the pull-time update exclusion list of each registry (already there is
 * fine), once per registry. A registry that refuses (no permission) is warned about, not
 * fatal: the sync still works, its reads merely count as pulls there.
 */
export async function excludeFromPullTime(
  session: Session,
  principalArn: string,
  registries: readonly { name: string; conn: EcrConnection }[],
): Promise<string[]> {
  const done: string[] = [];
  const seen = new Set<string>();
  for (const { name, conn } of registries) {
    if (seen.has(name)) continue;
    seen.add(name);
    try {
      const out = await registerPullTimeExclusion(conn, principalArn);
      if (out.outcome === 'added') session.log.info(`${name}: ECR no longer records pulls by ${principalArn}`);
      else session.log.verbose(`${name}: ${principalArn} is already on the pull-time update exclusion list`);
      done.push(name);
    } catch (err) {
      session.log.warn(
        `${name}: could not add ${principalArn} to the pull-time update exclusion list (${(err as Error).message}); this sync's reads count as pulls there`,
      );
    }
  }
  return done;
}

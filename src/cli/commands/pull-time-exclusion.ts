// `ecrctl pull-time-exclusion add|list|remove`: the registry's pull-time update exclusion
// list (principals whose manifest reads ECR does not record as pulls); the work is in
// src/ops/pull-time-exclusion.ts, this file declares the commands and renders.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

const ROLE = 'arn:aws:iam::111122223333:role/ecr-audit';

/** Declares `ecrctl pull-time-exclusion`. */
export function definePullTimeExclusion(program: Command, host: CommandHost): void {
  const group = program
    .command('pull-time-exclusion')
    .summary('principals whose manifest reads ECR does not record as pulls')
    .description(
      'ECR records every manifest read (BatchGetImage, a docker pull) as a pull of the image\n' +
        '(lastRecordedPullTime), so read-only tools make images look recently pulled and keep\n' +
        'sinceImagePulled lifecycle rules from archiving them. A principal (IAM user or role) on\n' +
        "the registry's pull-time update exclusion list reads without that record: add the\n" +
        'role that runs audits, cost reports or `lifecycle simulate --read-manifests`.',
    )
    .addHelpText('after', examples(`ecrctl pull-time-exclusion add ${ROLE}`, 'ecrctl pull-time-exclusion list'));

  group
    .command('add')
    .summary('stop recording pulls by a principal')
    .argument('<principal-arn>', 'IAM user or role ARN')
    .addHelpText('after', examples(`ecrctl pull-time-exclusion add ${ROLE}`))
    .action(async (principalArn: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { addPullTimeExclusion } = await import('../../ops/pull-time-exclusion.js');
      const result = await addPullTimeExclusion(ctx, { principalArn });
      render(ctx, result, {
        text: (r) => (r.changed ? `added ${r.principalArn}` : `${r.principalArn} was already on the list`),
        env: (r) => ({ PRINCIPAL_ARN: r.principalArn, CHANGED: String(r.changed) }),
      });
    });

  group
    .command('list')
    .summary('list the principals whose pulls are not recorded')
    .addHelpText('after', examples('ecrctl pull-time-exclusion list', 'ecrctl -o json pull-time-exclusion list'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { listPullTimeExclusionPrincipals } = await import('../../ops/pull-time-exclusion.js');
      const result = await listPullTimeExclusionPrincipals(ctx);
      render(ctx, result, {
        text: (r) => (r.principals.length === 0 ? '(no principals excluded)' : r.principals.join('\n')),
        env: (r) => ({ PRINCIPALS: r.principals.join(',') }),
      });
    });

  group
    .command('remove')
    .summary('record pulls by a principal again')
    .argument('<principal-arn>', 'IAM user or role ARN')
    .addHelpText('after', examples(`ecrctl pull-time-exclusion remove ${ROLE}`))
    .action(async (principalArn: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { removePullTimeExclusion } = await import('../../ops/pull-time-exclusion.js');
      const result = await removePullTimeExclusion(ctx, { principalArn });
      render(ctx, result, {
        text: (r) => `removed ${r.principalArn}`,
        env: (r) => ({ PRINCIPAL_ARN: r.principalArn }),
      });
    });
}

// `ecrctl iam-policy pull|push|admin|sync|registry`: prints the least-privilege IAM identity policy for a
// role that runs those ecrctl verbs — the actions come from what the verbs really call
// (proved against `ecrctl local` in test/cli/iam-policy.test.ts), scoped to repository ARNs.
import type { Command } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Declares `ecrctl iam-policy`. */
export function defineIamPolicy(program: Command, host: CommandHost): void {
  program
    .command('iam-policy')
    .summary('print the least-privilege IAM policy for a role that runs ecrctl verbs')
    .description(
      'Prints an IAM identity policy that allows exactly what the ecrctl verbs of the groups\n' +
        'given call: ecr:GetAuthorizationToken on "*", the image and repository actions on\n' +
        'arn:aws:ecr:<region>:<account>:repository/<pattern> for each --repo (default every\n' +
        'repository; region and account default to *; --region and --registry-id also set\n' +
        'them), and the registry-wide actions (registry group) on "*".\n' +
        '  pull      pull, inspect, tags, discover\n' +
        '  push      tag-push, promote (add --create-repo for tag-push --create-repo)\n' +
        '  admin     create-repo, repos, images, delete, delete-repo, lifecycle\n' +
        '            get|put|delete, policy get|set|delete, archive, restore\n' +
        '  sync      sync plan|apply|check, ECR as source and/or target (--repo: name\n' +
        '            both the source and the target repositories)\n' +
        '  registry  account-setting get|set, pull-time-exclusion add|remove|list\n' +
        'Groups combine: `ecrctl iam-policy pull push` for a CI role that does both.',
    )
    .argument('<groups...>', 'pull, push, admin, sync and/or registry')
    .option('--repo <pattern>', 'repository name or IAM wildcard pattern, e.g. team/* (repeatable)', collect)
    .option('--account <id>', 'the account that owns the repositories (default: --registry-id, else *)')
    .option('--create-repo', 'push: also allow ecr:CreateRepository (tag-push --create-repo)')
    .addHelpText(
      'after',
      examples(
        'ecrctl iam-policy pull --repo team/app --region eu-west-1 --account 123456789012',
        'ecrctl iam-policy pull push --repo "team/*" > ci-policy.json',
        'ecrctl iam-policy sync registry --repo "mirror/*" --repo "team/*"',
        'aws iam put-role-policy --role-name ci --policy-name ecrctl --policy-document "$(ecrctl iam-policy push --repo app)"',
      ),
    )
    .action(
      async (groups: string[], opts: { repo?: string[]; account?: string; createRepo?: boolean }, cmd: Command) => {
        const ctx = host.context(cmd);
        const { iamPolicy } = await import('../../ops/iam-policy.js');
        const { document: doc } = await iamPolicy(ctx, {
          groups,
          repos: opts.repo,
          account: opts.account,
          createRepo: opts.createRepo,
        });
        render(ctx, doc, { text: (d) => JSON.stringify(d, null, 2), env: (d) => ({ IAM_POLICY: JSON.stringify(d) }) });
      },
    );
}

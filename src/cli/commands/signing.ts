// `ecrctl signing`: managed signing rules (config get / set / delete) and the signing status of
// an image; the work is in src/ops/signing.ts, this file declares the commands and renders.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';
import { readInputFile } from '../inputs.js';

type SigningRule = import('../../ops/signing.js').SigningRule;
type SigningRules = import('../../ops/signing.js').SigningRules;

/** Declares `ecrctl signing`. */
export function defineSigning(program: Command, host: CommandHost): void {
  const signing = program
    .command('signing')
    .summary('managed signing: signing rules, signing status of an image')
    .description(
      'ECR managed signing signs images as they are pushed, with an AWS Signer signing profile,\n' +
        'in repositories that a signing rule covers. `config` shows and changes the rules (at most\n' +
        '10 rules, 1–100 WILDCARD_MATCH filters per rule — checked before anything is sent);\n' +
        '`status` shows whether an image (each platform of an index) has been signed.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl signing config set --signing-profile-arn arn:aws:signer:us-east-1:111122223333:/signing-profiles/release --filter "prod/*"',
        'ecrctl signing status team/app:v1',
      ),
    );

  const config = signing.command('config').summary('show or change the signing rules');
  config
    .command('get')
    .summary('print the signing rules')
    .addHelpText(
      'after',
      examples('ecrctl signing config get', 'ecrctl signing config get --output json > signing.json'),
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { getSigningRules } = await import('../../ops/signing.js');
      renderRules(ctx, await getSigningRules(ctx));
    });
  config
    .command('set')
    .summary('replace the signing rules (from a JSON file, or one rule from options)')
    .description(
      'FILE holds {"rules": [{"signingProfileArn": "…", "repositoryFilters": [{"filter": "prod/*",\n' +
        '"filterType": "WILDCARD_MATCH"}]}]}\n' +
        '(or the {"signingConfiguration":{…}} that the API returns). Without FILE, one rule is made from\n' +
        '--signing-profile-arn and --filter (no --filter: every repository). In a filter, * matches\n' +
        'any run of characters (prod/*, */production, *prod*).',
    )
    .argument('[file]', 'JSON file with the rules')
    .option('--signing-profile-arn <arn>', 'the AWS Signer signing profile (arn:aws:signer:…:/signing-profiles/NAME)')
    .option('--filter <pattern>', 'sign only repositories matching this pattern (repeatable; default: all)', collect)
    .addHelpText(
      'after',
      examples(
        'ecrctl signing config set signing.json',
        'ecrctl signing config set --signing-profile-arn arn:aws:signer:us-east-1:111122223333:/signing-profiles/release --filter "prod/*" --filter "*-release"',
      ),
    )
    .action(async (file: string | undefined, opts: { signingProfileArn?: string; filter?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      let rules: SigningRule[];
      if (file !== undefined) {
        if (opts.signingProfileArn !== undefined || opts.filter !== undefined) {
          throw new UsageError('give either FILE or --signing-profile-arn / --filter, not both', {
            fix: 'put every rule in the file',
          });
        }
        const { parseSigningRules } = await import('../../ops/signing.js');
        rules = parseSigningRules(await readInputFile(ctx, file, 'signing rules'), file);
      } else {
        if (opts.signingProfileArn === undefined) {
          throw new UsageError('signing config set needs FILE or --signing-profile-arn', {
            fix: 'e.g. ecrctl signing config set --signing-profile-arn arn:aws:signer:us-east-1:111122223333:/signing-profiles/release',
          });
        }
        const rule: SigningRule = { signingProfileArn: opts.signingProfileArn };
        if (opts.filter && opts.filter.length > 0)
          rule.repositoryFilters = opts.filter.map((filter) => ({ filter, filterType: 'WILDCARD_MATCH' }));
        rules = [rule];
      }
      const { setSigningRules } = await import('../../ops/signing.js');
      renderRules(ctx, await setSigningRules(ctx, { rules }));
    });
  config
    .command('delete')
    .summary('remove the signing configuration (pushed images are no longer signed)')
    .addHelpText('after', examples('ecrctl signing config delete'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { deleteSigningRules } = await import('../../ops/signing.js');
      await deleteSigningRules(ctx);
      renderRules(ctx, { configured: false, rules: [] });
    });

  signing
    .command('status')
    .summary("an image's signing status per signing profile (each platform of an index)")
    .description(
      'Prints, per image and signing profile, whether ECR has signed it (IN_PROGRESS, COMPLETE,\n' +
        'FAILED with the reason). For an index, the index and each platform image are listed.\n' +
        'Exits 1 when a signature FAILED, or with --require-signed when an image is not signed.\n' +
        "The image is found with DescribeImages; only an index's manifest is read (BatchGetImage,\n" +
        'which ECR records as a pull of the index) to learn its platforms.',
    )
    .argument('<ref>', 'the image: REPO:TAG, REPO@DIGEST, or a full ECR reference')
    .option('--require-signed', 'exit 1 unless every image (each platform) has a COMPLETE signature')
    .addHelpText(
      'after',
      examples('ecrctl signing status team/app:v1', 'ecrctl signing status team/app:v1 --require-signed --output env'),
    )
    .action(async (ref: string, opts: { requireSigned?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runStatus(ctx, ref, opts);
    });
}

function renderRules(ctx: CliContext, data: SigningRules): void {
  render(ctx, data, {
    text: (d) =>
      d.rules.length === 0
        ? 'no signing rules'
        : d.rules
            .map(
              (r, i) =>
                `rule ${i + 1}: ${r.signingProfileArn}; repositories: ${r.repositoryFilters?.length ? r.repositoryFilters.map((f) => f.filter).join(', ') : 'all'}`,
            )
            .join('\n'),
    env: (d) => ({ SIGNING_RULES: String(d.rules.length) }),
  });
}

async function runStatus(ctx: CliContext, text: string, opts: { requireSigned?: boolean }): Promise<void> {
  const { signingStatus, signingStatusError } = await import('../../ops/signing.js');
  const result = await signingStatus(ctx, { image: text });
  render(ctx, result, {
    text: (d) =>
      table(
        ['IMAGE', 'DIGEST', 'SIGNING PROFILE', 'STATUS', 'FAILURE'],
        d.images.flatMap((row) => {
          const name = row.kind === 'index' ? 'index' : (row.platform ?? 'image');
          if (row.statuses.length === 0) return [[name, row.digest, '-', 'NOT SIGNED', '']];
          return row.statuses.map((s) => [
            name,
            row.digest,
            s.signingProfileArn,
            s.status,
            [s.failureCode, s.failureReason].filter(Boolean).join(': '),
          ]);
        }),
      ),
    env: (d) => ({ IMAGE_DIGEST: d.digest, SIGNING_STATUS: d.status }),
  });
  const failure = signingStatusError(result, opts);
  if (failure) throw failure;
}

import type { Command } from 'commander';
import { EcrctlError, NotFoundError, RuleViolation, UsageError } from '../../errors.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';
import { readInputFile } from '../inputs.js';

type EcrConnection = import('../../ecr/repositories.js').EcrConnection;
type SigningRule = import('../../ecr/signing.js').SigningRule;
type ImageSigningStatus = import('../../ecr/signing.js').ImageSigningStatus;

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
      const conn = await connect(ctx);
      const { getSigningConfiguration } = await import('../../ecr/signing.js');
      const cfg = await getSigningConfiguration(conn);
      renderRules(ctx, cfg?.rules ?? [], cfg !== undefined);
    });
  config
    .command('set')
    .summary('replace the signing rules (from a JSON file, or one rule from options)')
    .description(
      'FILE holds {"rules":[{"signingProfileArn":"…","repositoryFilters":[{"filter":"prod/*","filterType":"WILDCARD_MATCH"}]}]}\n' +
        '(or the {"signingConfiguration":{…}} that the API returns). Without FILE, one rule is made from\n' +
        '--signing-profile-arn and --filter (no --filter: every repository). In a filter, * matches\n' +
        'any run of characters (prod/*, */production, *prod*).',
    )
    .argument('[file]', 'JSON file with the rules')
    .option(
      '--signing-profile-arn <arn>',
      'the AWS Signer signing profile (arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME)',
    )
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
        rules = await readRulesFile(ctx, file);
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
      const { checkSigningRules, putSigningConfiguration } = await import('../../ecr/signing.js');
      const problems = checkSigningRules(rules);
      if (problems.length > 0) {
        throw new RuleViolation(
          problems.length === 1
            ? `the signing configuration breaks a rule: ${problems[0]}`
            : `the signing configuration breaks ${problems.length} rules; nothing was changed`,
          {
            rule: 'at most 10 rules; each names an AWS Signer signing profile ARN and 1–100 WILDCARD_MATCH filters (1–256 characters) or none',
            fix: 'fix the problems listed; `ecrctl signing config get` shows the current rules',
            ...(problems.length > 1 ? { problems } : {}),
          },
        );
      }
      const conn = await connect(ctx);
      const stored = await putSigningConfiguration(conn, rules);
      ctx.log.info(`signing configuration saved: ${stored.length} rule${stored.length === 1 ? '' : 's'}`);
      renderRules(ctx, stored, true);
    });
  config
    .command('delete')
    .summary('remove the signing configuration (pushed images are no longer signed)')
    .addHelpText('after', examples('ecrctl signing config delete'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const conn = await connect(ctx);
      const { deleteSigningConfiguration } = await import('../../ecr/signing.js');
      const removed = await deleteSigningConfiguration(conn);
      if (removed === undefined)
        throw new NotFoundError('the registry has no signing configuration', {
          fix: 'see `ecrctl signing config get`',
        });
      ctx.log.info(`signing configuration deleted (${removed.length} rule${removed.length === 1 ? '' : 's'})`);
      renderRules(ctx, [], false);
    });

  signing
    .command('status')
    .summary("an image's signing status per signing profile (each platform of an index)")
    .description(
      'Prints, per image and signing profile, whether ECR has signed it (IN_PROGRESS, COMPLETE,\n' +
        'FAILED with the reason). For an index, the index and each platform image are listed.\n' +
        'Exits 1 when a signature FAILED, or with --require-signed when an image is not signed.',
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

async function connect(ctx: CliContext, where: { region?: string; registryId?: string } = {}): Promise<EcrConnection> {
  return (await import('../ecr-ref.js')).ecrConnection(ctx, where);
}

function renderRules(ctx: CliContext, rules: SigningRule[], configured: boolean): void {
  render(
    ctx,
    { configured, rules },
    {
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
    },
  );
}

async function readRulesFile(ctx: CliContext, file: string): Promise<SigningRule[]> {
  const text = await readInputFile(ctx, file, 'signing rules');
  const example =
    'write {"rules":[{"signingProfileArn":"arn:aws:signer:…:/signing-profiles/NAME","repositoryFilters":[{"filter":"prod/*","filterType":"WILDCARD_MATCH"}]}]}';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuleViolation(`${file} is not valid JSON: ${(err as Error).message}`, { value: file, fix: example });
  }
  const holder = (doc as { signingConfiguration?: unknown })?.signingConfiguration ?? doc;
  const rules = (holder as { rules?: unknown })?.rules;
  if (!Array.isArray(rules) || rules.some((r) => r === null || typeof r !== 'object')) {
    throw new RuleViolation(`${file} has no "rules" list of objects`, { value: file, fix: example });
  }
  return rules as SigningRule[];
}

interface ImageRow {
  digest: string;
  kind: 'index' | 'image';
  platform?: string;
  statuses: ImageSigningStatus[];
}

/** Returns the overall status: FAILED, IN_PROGRESS, COMPLETE (every platform image signed), PARTIAL or NONE. */
function overall(rows: readonly ImageRow[]): string {
  const all = rows.flatMap((r) => r.statuses);
  if (all.length === 0) return 'NONE';
  if (all.some((s) => s.status === 'FAILED')) return 'FAILED';
  if (all.some((s) => s.status !== 'COMPLETE')) return 'IN_PROGRESS';
  const images = rows.filter((r) => r.kind === 'image');
  return images.every((r) => r.statuses.some((s) => s.status === 'COMPLETE')) ? 'COMPLETE' : 'PARTIAL';
}

async function runStatus(ctx: CliContext, text: string, opts: { requireSigned?: boolean }): Promise<void> {
  const { parseReference } = await import('../../oci/reference.js');
  const { parseEcrHost } = await import('../../ecr/hosts.js');
  const r = parseReference(text);
  const ecr = r.registry ? parseEcrHost(r.registry) : undefined;
  if (ecr?.kind === 'public')
    throw new UsageError('ECR Public images are not signed by managed signing', {
      value: text,
      fix: 'name a private ECR image',
    });
  const conn = await connect(ctx, ecr?.kind === 'private' ? { region: ecr.region, registryId: ecr.registryId } : {});
  const { describeImageSigningStatus } = await import('../../ecr/signing.js');
  const { getEcrManifest } = await import('../../ecr/retag.js');
  const { isIndexMediaType } = await import('../../oci/media-types.js');
  const { formatPlatform } = await import('../../oci/copy.js');
  const image = r.digest ? { digest: r.digest } : { tag: r.tag ?? 'latest' };
  const top = await getEcrManifest(conn, r.repository, image);
  const rows: ImageRow[] = [];
  const isIndex = isIndexMediaType(top.mediaType);
  rows.push({
    digest: top.digest,
    kind: isIndex ? 'index' : 'image',
    statuses: (await describeImageSigningStatus(conn, r.repository, { digest: top.digest })).statuses,
  });
  if (isIndex) {
    const doc = JSON.parse(top.manifest) as {
      manifests?: { digest: string; platform?: { os: string; architecture: string; variant?: string } }[];
    };
    const children = await Promise.all(
      (doc.manifests ?? []).map(async (d) => ({
        digest: d.digest,
        kind: 'image' as const,
        ...(d.platform ? { platform: formatPlatform(d.platform) } : {}),
        statuses: (await describeImageSigningStatus(conn, r.repository, { digest: d.digest })).statuses,
      })),
    );
    rows.push(...children);
  }
  const status = overall(rows);
  render(
    ctx,
    { repository: r.repository, digest: top.digest, status, images: rows },
    {
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
    },
  );
  if (status === 'FAILED') {
    const failed = rows.flatMap((row) =>
      row.statuses
        .filter((s) => s.status === 'FAILED')
        .map(
          (s) => `${row.platform ?? row.digest} (${s.signingProfileArn}${s.failureCode ? `: ${s.failureCode}` : ''})`,
        ),
    );
    throw new EcrctlError(`signing of ${r.repository}@${top.digest} failed for ${failed.join(', ')}`, {
      fix: 'check the signing profile (it must be active, and ECR must be allowed to use it); push the image again to retry',
    });
  }
  if (opts.requireSigned && status !== 'COMPLETE') {
    throw new EcrctlError(
      `${r.repository}@${top.digest} is not signed${status === 'PARTIAL' ? ' for every platform' : ''} (status ${status})`,
      {
        fix: 'check `ecrctl signing config get`: a rule must cover the repository when the image is pushed',
      },
    );
  }
}

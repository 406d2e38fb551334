import type { Command } from 'commander';
import { type CommandHost, examples, transferOptions } from '../command-kit.js';
import { type TrustCliOptions, trustOptions, trustSettings } from '../trust-options.js';

/** Declares `ecrctl copy`. */
export function defineCopy(program: Command, host: CommandHost): void {
  const cmd = program
    .command('copy')
    .summary('copy an image between registries (all platforms, digests preserved)')
    .description(
      'Copies the image SOURCE names to TARGET: across accounts, regions or registries (for\n' +
        'example Docker Hub to ECR). Indexes keep every platform; bytes and digests are kept\n' +
        'exactly. Within one registry, blobs are mounted instead of copied where the registry\n' +
        'allows it. With --all-tags, every tag of the source repository is copied.\n' +
        'Referrers (signatures, SBOMs, attestations) come along: those of the image, of each\n' +
        'platform of an index, and of each other up to 3 levels deep; --no-referrers skips them.\n' +
        'A destination without a usable referrers API gets the sha256-<hex> tag schema (said so);\n' +
        'referrers it refuses are listed and the exit code is 1. With --require-signed the\n' +
        "source's Notary signature is verified first (exit 3, nothing copied when none does).",
    )
    .argument('<source>', 'registry reference (or oci:/docker-archive: location)')
    .argument('<target>', 'registry reference')
    .option('--all-tags', 'copy every tag of the source repository');
  transferOptions(cmd, { platform: 'copy only this platform' });
  trustOptions(cmd, true);
  cmd
    .addHelpText(
      'after',
      examples(
        'ecrctl copy docker.io/library/alpine:3.20 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/alpine:3.20',
        'ecrctl copy 127.0.0.1:5000/team/app 127.0.0.1:5001/team/app --all-tags',
        'ecrctl copy team/app:v1 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1 --no-referrers',
        'ecrctl copy team/app:v1 prod/app:v1 --require-signed --trust-store signer-root.pem',
      ),
    )
    .action(
      async (
        source: string,
        target: string,
        opts: { allTags?: boolean; platform?: string; concurrency?: string; referrers?: boolean } & TrustCliOptions,
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { requireSigned, trustStore, trustPolicy, signingProfile, ...flags } = opts;
        // --require-signed: the source's signature is verified before anything moves (exit 3),
        // then exactly the digest that verified is copied.
        const trust = trustSettings({ requireSigned, trustStore, trustPolicy, signingProfile });
        let from = source;
        if (trust) {
          const { UsageError } = await import('../../errors.js');
          if (flags.allTags) {
            throw new UsageError('--require-signed copies one image, not --all-tags', {
              fix: 'copy the tags one by one with --require-signed, or use ecrctl sync',
            });
          }
          const { requireSigned: verified, pinToVerified } = await import('../../ops/verify.js');
          from = pinToVerified(source, await verified(ctx, source, trust));
        }
        const { runCopy } = await import('../transfer.js');
        await runCopy(ctx, { source: from, target, ...flags });
      },
    );
}

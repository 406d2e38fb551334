// `ecrctl verify REF`: checks the image's Notary Project signatures (JWS or COSE, as ECR
// managed signing and notation write them) offline against a trust store and a trust policy.
// Exit 0 verified, 3 not verified (the failed check of each signature named), 1 on errors.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';
import { requireTrustStore, type TrustCliOptions, trustOptions } from '../trust-options.js';

/** Declares `ecrctl verify`. */
export function defineVerify(program: Command, host: CommandHost): void {
  const cmd = program
    .command('verify')
    .summary("verify an image's Notary Project signatures against a trust store")
    .description(
      "Finds the image's Notary Project signatures (referrers API, or the sha256-<hex> tag\n" +
        'schema) and checks each one offline: the envelope signature (JWS or COSE), the\n' +
        'certificate chain up to a certificate of --trust-store, the signing time within every\n' +
        "certificate's validity, the signature's expiry, the trust policy's registry scope and\n" +
        'trusted identities, --signing-profile, and that the signed descriptor is the image\n' +
        '(digest, size, media type). Revocation is not checked (it needs the network).\n' +
        'Exit 0 when one signature verifies, 3 when none does (each failed check is named),\n' +
        '1 on errors. --output json prints the verification report.',
    )
    .argument('<ref>', 'the image: REPO:TAG, REPO@DIGEST, HOST/REPO:TAG or oci:DIR[:TAG]');
  trustOptions(cmd, false)
    .addHelpText(
      'after',
      examples(
        'ecrctl verify app:v1 --trust-store ./aws-signer-root.pem',
        'ecrctl verify team/api@sha256:… --trust-store ./roots --trust-policy ./trustpolicy.json',
        'ecrctl verify app:v1 --trust-store root.pem --signing-profile arn:aws:signer:us-east-1:123456789012:/signing-profiles/release',
        'ecrctl verify 127.0.0.1:5000/app:v1 --trust-store ~/.local/share/ecrctl/local/signing/root.pem -o json',
      ),
    )
    .action(async (ref: string, opts: TrustCliOptions, c: Command) => {
      const ctx = host.context(c);
      await runVerify(ctx, ref, opts);
    });
}

/** Verifies, renders the report, and exits 3 when no signature verified. */
async function runVerify(ctx: CliContext, ref: string, opts: TrustCliOptions): Promise<void> {
  const trust = requireTrustStore(opts);
  const { verifyImage, checkVerified } = await import('../../ops/verify.js');
  const result = await verifyImage(ctx, { image: ref, ...trust });
  render(ctx, result, {
    text: (r) => {
      const lines = [`${r.verified ? 'verified' : 'NOT VERIFIED'}: ${r.reference} (${r.subject.digest})`];
      if (r.reason) lines.push(`  ${r.reason}`);
      for (const s of r.signatures) {
        const what = [s.format?.toUpperCase(), s.alg, s.signingScheme].filter(Boolean).join(' ');
        const who = s.signer ? ` by ${s.signer.subject}` : '';
        const when = s.signingTime ? ` at ${s.signingTime}` : '';
        const profile = s.signingProfile ? ` (${s.signingProfile})` : '';
        const outcome = s.verified ? 'verified' : `${s.failed?.check}: ${s.failed?.message}`;
        lines.push(`  ${s.digest}${what ? ` ${what}` : ''}${when}${who}${profile}: ${outcome}`);
      }
      return lines.join('\n');
    },
    env: (r) => ({
      VERIFIED: String(r.verified),
      IMAGE_DIGEST: r.subject.digest,
      SIGNATURE_DIGEST: r.verifiedBy ?? '',
    }),
  });
  checkVerified(result);
}

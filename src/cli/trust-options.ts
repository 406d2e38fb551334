// The signature-gate options, declared once for every verb that can refuse an unsigned
// image (promote, pull, tag-push; copy and sync can add them the same way): --require-signed
// with --trust-store, --trust-policy and --signing-profile, and the check that they come
// together. `ecrctl verify` declares the same trust options without --require-signed.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/** The trust options as commander parses them. */
export interface TrustCliOptions {
  requireSigned?: boolean;
  trustStore?: string;
  trustPolicy?: string;
  signingProfile?: string;
}

/** What an op's signature gate takes (the shape of ops/verify.ts TrustOptions). */
export interface TrustSettings {
  trustStore: string;
  trustPolicy?: string;
  signingProfile?: string;
}

/** Adds --trust-store, --trust-policy and --signing-profile (and --require-signed when gate is true). */
export function trustOptions(cmd: Command, gate: boolean): Command {
  if (gate) {
    cmd.option('--require-signed', 'refuse (exit 3, nothing changed) unless a Notary signature of the source verifies');
  }
  return cmd
    .option('--trust-store <path>', 'trusted root certificates: a PEM/DER file or a directory')
    .option('--trust-policy <file>', 'a Notary Project trust policy (JSON); default: strict, any signer')
    .option('--signing-profile <arn>', 'the AWS Signer profile that must have signed');
}

/**
 * Returns the gate's settings when --require-signed is given (it needs --trust-store), and
 * undefined otherwise; trust options without --require-signed are refused, not ignored.
 */
export function trustSettings(opts: TrustCliOptions): TrustSettings | undefined {
  if (!opts.requireSigned) {
    const stray = [
      opts.trustStore !== undefined && '--trust-store',
      opts.trustPolicy !== undefined && '--trust-policy',
      opts.signingProfile !== undefined && '--signing-profile',
    ].filter(Boolean);
    if (stray.length > 0) {
      throw new UsageError(`${stray.join(', ')} only apply with --require-signed`, {
        fix: 'add --require-signed, or leave the trust options out',
      });
    }
    return undefined;
  }
  return requireTrustStore(opts);
}

/** Returns the trust settings, refusing a missing --trust-store (UsageError). */
export function requireTrustStore(opts: TrustCliOptions): TrustSettings {
  if (!opts.trustStore) {
    throw new UsageError('signature verification needs --trust-store', {
      fix: "pass the signer's root certificate, e.g. --trust-store <data>/signing/root.pem for ecrctl local",
    });
  }
  return {
    trustStore: opts.trustStore,
    ...(opts.trustPolicy !== undefined ? { trustPolicy: opts.trustPolicy } : {}),
    ...(opts.signingProfile !== undefined ? { signingProfile: opts.signingProfile } : {}),
  };
}

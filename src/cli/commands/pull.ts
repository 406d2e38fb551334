import type { Command } from 'commander';
import { type CommandHost, examples, transferOptions } from '../command-kit.js';
import { type TrustCliOptions, trustOptions, trustSettings } from '../trust-options.js';

/** Declares `ecrctl pull`. */
export function definePull(program: Command, host: CommandHost): void {
  const cmd = program
    .command('pull')
    .summary('pull an image from a registry into an OCI layout or a docker-archive')
    .description(
      'Pulls the image SOURCE names into DEST, verifying every blob against its\n' +
        'digest as it streams. The output appears complete or not at all: it is built\n' +
        'under a temporary name and renamed into place at the end. Multi-platform\n' +
        'images keep all platforms in an OCI layout unless --platform picks one. A\n' +
        "docker-archive holds one platform: without --platform it gets this machine's\n" +
        '(as docker pull does), and an index without it is refused before any download.\n' +
        "Into an OCI layout the image's referrers (signatures, SBOMs, attestations)\n" +
        'come along, listed in index.json by digest; --no-referrers leaves them behind\n' +
        '(a docker-archive cannot hold them). With --require-signed the Notary\n' +
        'signature of SOURCE is verified first (as `ecrctl verify` does): none\n' +
        'verifies, exit 3, nothing written.\n' +
        'DEST: oci:DIR[:TAG] or docker-archive:FILE[:REF].',
    )
    .argument('<source>', 'registry reference, e.g. 127.0.0.1:5000/team/app:v1')
    .argument('<dest>', 'oci:DIR[:TAG] or docker-archive:FILE[:REF]');
  transferOptions(cmd, {
    platform: 'pull only this platform',
    referrers: "do not pull the image's referrers (signatures, SBOMs, attestations)",
  });
  trustOptions(cmd, true)
    .addHelpText(
      'after',
      examples(
        'ecrctl pull 127.0.0.1:5000/team/app:v1 oci:./out:v1',
        'ecrctl pull app:v1 docker-archive:./app.tar:team/app:v1 --platform linux/amd64',
        'ecrctl pull docker.io/library/alpine:3.20 docker-archive:./alpine.tar',
      ),
    )
    .action(
      async (
        source: string,
        dest: string,
        opts: { platform?: string; concurrency?: string; referrers?: boolean } & TrustCliOptions,
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        // --require-signed: the source's signature is verified before anything moves (exit 3).
        const {
          requireSigned: _gate,
          trustStore: _store,
          trustPolicy: _policy,
          signingProfile: _profile,
          ...transfer
        } = opts;
        const trust = trustSettings(opts);
        let from = source;
        if (trust) {
          const { requireSigned, pinToVerified } = await import('../../ops/verify.js');
          from = pinToVerified(source, await requireSigned(ctx, source, trust));
        }
        const { runPull } = await import('../transfer.js');
        await runPull(ctx, { source: from, target: dest, ...transfer });
      },
    );
}

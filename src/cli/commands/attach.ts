// `ecrctl attach REF FILE --artifact-type TYPE`: a file stored as an OCI 1.1 referrer of an
// image (an SBOM, an attestation, a scan report).
import type { Command } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import { render } from '../output.js';
import { parseAnnotations } from './artifact.js';

/** Declares `ecrctl attach`. */
export function defineAttach(program: Command, host: CommandHost): void {
  program
    .command('attach')
    .summary('attach a file (SBOM, attestation) to an image as an OCI referrer')
    .description(
      'Stores FILE as an OCI 1.1 artifact whose subject is the image REF. Where the registry ' +
        'answers the referrers API with 404/405 (or does not list the new referrer), it is ' +
        'added to the sha256-<hex> tag index (OCI referrers tag schema), and ecrctl says so.\n\n' +
        'On ECR, referrers count against the images-per-repository quota, and ECR deletes ' +
        'them within 24 hours of the deletion of their subject.',
    )
    .argument('<ref>', 'the image: repo:tag, repo@digest or <registry>/repo:tag')
    .argument('<file>', 'the file to attach')
    .requiredOption('--artifact-type <type>', 'the referrer artifactType, e.g. application/spdx+json')
    .option('--media-type <type>', "the file's media type (default the artifact type)")
    .option('--annotation <key=value>', 'a manifest annotation (repeatable)', collect)
    .addHelpText(
      'after',
      examples(
        'ecrctl attach team/app:v1 sbom.spdx.json --artifact-type application/spdx+json',
        'ecrctl attach team/app@sha256:… vex.json --artifact-type application/vnd.openvex+json',
      ),
    )
    .action(
      async (
        ref: string,
        file: string,
        opts: { artifactType: string; mediaType?: string; annotation?: string[] },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { attach } = await import('../../ops/attach.js');
        const annotations = parseAnnotations(opts.annotation);
        const result = await attach(ctx, {
          reference: ref,
          file,
          artifactType: opts.artifactType,
          ...(opts.mediaType !== undefined ? { mediaType: opts.mediaType } : {}),
          ...(annotations ? { annotations } : {}),
        });
        render(ctx, result, {
          text: (r) => r.digest,
          env: (r) => ({ REFERRER_DIGEST: r.digest, SUBJECT_DIGEST: r.subject, REFERRER_VIA: r.via }),
        });
      },
    );
}

// `ecrctl artifact push REF FILE[:MEDIATYPE]...` and `ecrctl artifact pull REF DIR`: files as
// OCI artifacts (ORAS's layout: one layer per file, titled with its name).
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Parses repeated `K=V` options into a map; UsageError for a text without `=`. */
export function parseAnnotations(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`--annotation wants KEY=VALUE, not ${v}`, {
        value: v,
        fix: 'e.g. --annotation org.opencontainers.image.source=https://github.com/org/repo',
      });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Declares `ecrctl artifact` with `push` and `pull`. */
export function defineArtifact(program: Command, host: CommandHost): void {
  const artifact = program
    .command('artifact')
    .summary('push and pull files as OCI artifacts')
    .description(
      'Stores any files in a repository as an OCI artifact (one layer per file, titled with ' +
        'its name) and gets them back. Media types are checked against the rules ECR applies ' +
        'before anything is uploaded.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl artifact push team/policies:v1 policy.rego:application/vnd.opa.rego',
        'ecrctl artifact pull team/policies:v1 ./policies',
      ),
    );

  artifact
    .command('push')
    .summary('push files as an OCI artifact')
    .description(
      'Pushes FILEs to REF as one OCI 1.1 artifact manifest. Each file may name its media ' +
        'type after a colon (default application/octet-stream). An artifactType or media type ' +
        'ECR refuses (e.g. with ; parameters) exits 3 before any upload.',
    )
    .argument('<ref>', 'where to push: repo:tag or <registry>/repo:tag')
    .argument('<files...>', 'FILE[:MEDIATYPE]')
    .option('--artifact-type <type>', 'the artifactType (default application/vnd.unknown.artifact.v1)')
    .option('--annotation <key=value>', 'a manifest annotation (repeatable)', collect)
    .option('--config <file:mediatype>', 'a config blob of your own (default: the empty config {})')
    .addHelpText(
      'after',
      examples(
        'ecrctl artifact push team/docs:v1 README.md:text/markdown',
        'ecrctl artifact push team/sbom:v1 sbom.json:application/spdx+json --artifact-type application/spdx+json',
      ),
    )
    .action(
      async (
        ref: string,
        files: string[],
        opts: { artifactType?: string; annotation?: string[]; config?: string },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { artifactPush, parseFileSpec } = await import('../../ops/artifact.js');
        let config: { path: string; mediaType: string } | undefined;
        if (opts.config !== undefined) {
          const spec = parseFileSpec(opts.config);
          if (!spec.mediaType)
            throw new UsageError('--config wants FILE:MEDIATYPE', {
              value: opts.config,
              fix: 'e.g. --config config.json:application/vnd.example.config.v1+json',
            });
          config = { path: spec.path, mediaType: spec.mediaType };
        }
        const annotations = parseAnnotations(opts.annotation);
        const result = await artifactPush(ctx, {
          reference: ref,
          files: files.map(parseFileSpec),
          ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
          ...(annotations ? { annotations } : {}),
          ...(config ? { config } : {}),
        });
        render(ctx, result, {
          text: (r) => `${r.reference}@${r.digest}`,
          env: (r) => ({ ARTIFACT_REFERENCE: r.reference, ARTIFACT_DIGEST: r.digest }),
        });
      },
    );

  artifact
    .command('pull')
    .summary("write an artifact's files into a directory")
    .description(
      'Writes the files of artifact REF into DIR under their titles ' +
        '(org.opencontainers.image.title), each checked against its digest and written ' +
        'through a temporary name. A title that would land outside DIR (absolute, .., a ' +
        'symlink) is refused with exit 3 before anything is written.',
    )
    .argument('<ref>', 'the artifact: repo:tag, repo@digest or <registry>/repo:tag')
    .argument('<dir>', 'the directory to write into (created when missing)')
    .addHelpText(
      'after',
      examples('ecrctl artifact pull team/docs:v1 ./docs', 'ecrctl artifact pull charts/app:1.2.0 .'),
    )
    .action(async (ref: string, dir: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { artifactPull } = await import('../../ops/artifact.js');
      const result = await artifactPull(ctx, { reference: ref, directory: dir });
      render(ctx, result, {
        text: (r) => r.files.map((f) => `${f.title}  ${f.digest}  ${f.size}`).join('\n'),
        env: (r) => ({ ARTIFACT_DIGEST: r.digest, ARTIFACT_FILES: r.files.map((f) => f.title).join(' ') }),
      });
    });
}

// `ecrctl helm push CHART.tgz REPO`: a Helm chart pushed as `helm push` pushes it, without
// a helm binary.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Declares `ecrctl helm` with `push`. */
export function defineHelm(program: Command, host: CommandHost): void {
  const helm = program
    .command('helm')
    .summary('Helm charts in ECR, as helm push stores them')
    .description('Pushes Helm chart packages to a registry with the manifest `helm push` writes.')
    .addHelpText('after', examples('ecrctl helm push mychart-0.1.0.tgz charts'));

  helm
    .command('push')
    .summary('push a chart package (.tgz); tag = the chart version')
    .description(
      "Reads the chart's name and version from Chart.yaml inside CHART and pushes it to " +
        "REPO/<name>:<version> (REPO may already end with the name) with Helm's media types: " +
        'config application/vnd.cncf.helm.config.v1+json, layer ' +
        'application/vnd.cncf.helm.chart.content.v1.tar+gzip. Get it back with ' +
        '`ecrctl artifact pull` (byte-identical) or `helm pull oci://…`.',
    )
    .argument('<chart>', 'the chart package made by `helm package`')
    .argument('<repo>', 'namespace or repository: charts, <registry>/charts, oci://<registry>')
    .option('--created <time>', 'the org.opencontainers.image.created annotation (default now)')
    .addHelpText(
      'after',
      examples(
        'ecrctl helm push mychart-0.1.0.tgz charts',
        'ecrctl helm push mychart-0.1.0.tgz oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      ),
    )
    .action(async (chart: string, repo: string, opts: { created?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { helmPush } = await import('../../ops/artifact.js');
      const result = await helmPush(ctx, {
        chart,
        repository: repo,
        ...(opts.created !== undefined ? { created: opts.created } : {}),
      });
      render(ctx, result, {
        text: (r) => `${r.reference}@${r.digest}`,
        env: (r) => ({ CHART_REFERENCE: r.reference, CHART_DIGEST: r.digest, CHART_VERSION: r.chart.version }),
      });
    });
}

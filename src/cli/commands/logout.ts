import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

interface LogoutOptions {
  dockerConfig?: string;
  authfile?: string;
  podman?: boolean;
}

/** Declares `ecrctl logout`. */
export function defineLogout(program: Command, host: CommandHost): void {
  program
    .command('logout')
    .summary('remove what `ecrctl login` wrote')
    .description(
      'Removes the entries `ecrctl login` writes: "auths" entries with user AWS and "credHelpers"\n' +
        'entries naming ecrctl. With registries given, only theirs; without, every ECR registry\n' +
        'and every registry registered to docker-credential-ecrctl. Nothing else in the file changes.',
    )
    .argument('[registry...]', 'registry hosts (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com)')
    .option('--docker-config <dir>', 'Docker config directory (default: $DOCKER_CONFIG or ~/.docker)')
    .option('--authfile <file>', 'the containers auth file instead (also REGISTRY_AUTH_FILE)')
    .option('--podman', 'the Podman auth file (default: $XDG_RUNTIME_DIR/containers/auth.json)')
    .addHelpText(
      'after',
      examples('ecrctl logout', 'ecrctl logout 123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'ecrctl logout --podman'),
    )
    .action(async (registries: string[], opts: LogoutOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      const { logout } = await import('../../ops/login.js');
      const result = await logout(ctx, { registries, ...opts });
      render(ctx, result, {
        text: (r) => r.removed.map((e) => `Removed ${e.registry} (${e.kind}) from ${r.file}`).join('\n'),
        env: (r) => ({ CONFIG_FILE: r.file, REMOVED: r.removed.map((e) => e.registry).join(',') }),
      });
    });
}

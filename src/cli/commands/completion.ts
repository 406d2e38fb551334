import { Argument, type Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { SHELLS, type Shell } from '../completion.js';

/** Declares `ecrctl completion`. */
export function defineCompletion(program: Command, host: CommandHost): void {
  program
    .command('completion')
    .summary('print the bash, zsh or fish completion script')
    .description(
      'Prints a completion script for SHELL: commands, subcommands, options, their\n' +
        'fixed values (such as --output text|json|env), and file names for image\n' +
        'locations like oci:DIR. The script holds everything it needs, so completing\n' +
        'never starts ecrctl. To load it without installing a file, add\n' +
        '`source <(ecrctl completion bash)` to ~/.bashrc, or\n' +
        '`source <(ecrctl completion zsh)` to ~/.zshrc after compinit.',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      examples(
        'ecrctl completion bash > ~/.local/share/bash-completion/completions/ecrctl',
        'ecrctl completion zsh > ~/.zfunc/_ecrctl    # with fpath=(~/.zfunc $fpath) in ~/.zshrc',
        'ecrctl completion fish > ~/.config/fish/completions/ecrctl.fish',
      ),
    )
    .action(async (shell: Shell, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      let root = cmd;
      while (root.parent) root = root.parent;
      // Generated from the tree that is running, so a command added later is in the script.
      const { completionScript } = await import('../completion.js');
      ctx.stdout.write(completionScript(shell, root));
    });
}

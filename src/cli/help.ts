/**
 * `rollgate help [COMMAND]`: the help of the program, or of COMMAND (as `COMMAND --help`).
 * It stands in for Commander's implicit help command, which answers a name it does not know
 * with the whole help; here an unknown name is what it is when typed without `help`:
 * `rollgate help stauts` behaves exactly as `rollgate stauts` (the usage error with
 * Commander's suggestion, `error: unknown command 'stauts' (Did you mean status?)`, exit 2).
 */
import type { Command } from 'commander';

/** `build`: a fresh program of the same name, to parse an unknown name on (as if it had been typed alone). */
export function register(program: Command, build: () => Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .description('display help for command')
    .argument('[command]', 'the command to show the help of')
    .addHelpText('after', '\nExit status: 0 help shown, 2 unknown command or usage.')
    .action(async (name: string | undefined) => {
      if (name === undefined) program.help();
      const cmd = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (cmd) cmd.help();
      // Throws Commander's unknown-command error, with its suggestion, worded as for `rollgate NAME`.
      await build().parseAsync([name], { from: 'user' });
    });
}

/**
 * The `twinkit` command line: parses the words and flags, runs one command, prints its result or
 * one line of error, and returns the exit code.
 */
import { parseArgs } from 'node:util';
import packageJson from '../package.json' with { type: 'json' };
import type { CliIo } from './cli-io.js';
import type { Command } from './command.js';
import { deviceCommands } from './commands/device-commands.js';
import { queryCommand } from './commands/query-command.js';
import { twinCommands } from './commands/twin-commands.js';
import { describeError } from './describe-error.js';
import { ExitCode } from './exit-codes.js';
import { openRegistry } from './open-registry.js';
import { UsageError } from './usage-error.js';

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [...deviceCommands, ...twinCommands, queryCommand];

const GLOBAL_FLAGS = `Options of every command:
  --hub CS              The hub's service connection string (default: $IOTHUB_CONNECTION_STRING).
                        Azure IoT Hub or the local hub (twinkit-hub start prints one).
  --ca FILE             Also trust this CA (PEM), e.g. the local hub's <data dir>/ca.pem.
  -o, --output FORMAT   json (exactly the hub's JSON) or table (for people; the default).
  -h, --help            Show this help.   --version  Print the version.`;

/** The help text. */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((command) => command.words.join(' ').length));
  const lines = COMMANDS.map(
    (command) =>
      `  twinkit ${command.words.join(' ').padEnd(width)}  ${command.usage}\n      ${command.summary}`,
  );
  return `twinkit: device twins and identities on Azure IoT Hub or the local twinkit hub.\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_FLAGS}\n\nExit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 conflict (412/409), 5 unauthorized, 6 hub unreachable.\n`;
}

/**
 * Runs the command line.
 *
 * @param argv - the arguments after the program name
 * @param io - streams, environment, files, interrupt signal
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    const described = describeError(error);
    io.stderr(`twinkit: ${described.message}\n`);
    return described.exitCode;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    io.stdout(helpText());
    return ExitCode.ok;
  }
  if (first === '--version') {
    io.stdout(`${packageJson.version}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS.find((candidate) =>
    candidate.words.every((word, index) => argv[index] === word),
  );
  if (command === undefined) {
    const known = [...new Set(COMMANDS.map((candidate) => candidate.words.join(' ')))].join(', ');
    throw new UsageError(`unknown command '${argv.slice(0, 2).join(' ')}'; commands: ${known}`);
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    hub: { type: 'string' },
    ca: { type: 'string' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const flag of command.flags) options[flag] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv.slice(command.words.length),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const usage = `twinkit ${command.words.join(' ')} ${command.usage}`;
  if (values.help === true) {
    io.stdout(
      `${usage}\n  ${command.summary}\n  Like: ${command.azEquivalent}\n\n${GLOBAL_FLAGS}\n`,
    );
    return ExitCode.ok;
  }
  if (positionals.length !== command.arity) throw new UsageError(`usage: ${usage}`);
  const output = values.output ?? 'table';
  if (output !== 'json' && output !== 'table') {
    throw new UsageError(`--output: expected json or table, got '${String(output)}'`);
  }
  const flags: Record<string, string | undefined> = {};
  for (const flag of command.flags) {
    const value = values[flag];
    if (typeof value === 'string') flags[flag] = value;
  }
  const stringValue = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  await command.run({
    args: positionals,
    flags,
    output,
    io,
    openRegistry: () => openRegistry({ hub: stringValue('hub'), ca: stringValue('ca') }, io),
  });
  return ExitCode.ok;
}

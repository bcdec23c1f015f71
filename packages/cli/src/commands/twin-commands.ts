/**
 * `twinkit twin show | update | replace | watch`: device twins.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject, JsonValue } from '@twinkit/twin-model';
import type { Twin, TwinUpdate } from '@twinkit/service';
import { parseJsonObject, parsePositiveInteger, type Command } from '../command.js';
import { formatJson, formatRecord } from '../output/format.js';
import { UsageError } from '../usage-error.js';
import { changesBetween, describeChanges, watchedContent } from './twin-changes.js';

/** How often `twin watch` reads the twin unless `--interval` says otherwise. */
export const DEFAULT_WATCH_INTERVAL_IN_MS = 1_000;

function showTwin(twin: Twin, output: 'json' | 'table'): string {
  if (output === 'json') return formatJson(twin);
  const { properties, tags, ...identity } = twin;
  return formatRecord({ ...identity, tags: tags ?? {}, properties });
}

export const twinCommands: readonly Command[] = [
  {
    words: ['twin', 'show'],
    usage: '<device id>',
    summary: 'Show a device twin: tags, desired and reported properties with versions.',
    azEquivalent: 'az iot hub device-twin show',
    flags: [],
    arity: 1,
    async run({ args, output, io, openRegistry }) {
      await using opened = await openRegistry();
      io.stdout(showTwin(await opened.registry.getTwin(args[0] ?? ''), output));
    },
  },
  {
    words: ['twin', 'update'],
    usage: "<device id> [--desired '<json>'] [--tags '<json>'] [--etag ETAG]",
    summary:
      'Merge a patch into tags and desired properties (null deletes); with --etag only if unchanged.',
    azEquivalent: 'az iot hub device-twin update --desired/--tags [--etag]',
    flags: ['desired', 'tags', 'etag'],
    arity: 1,
    async run({ args, flags, output, io, openRegistry }) {
      if (flags.desired === undefined && flags.tags === undefined) {
        throw new UsageError("twin update needs --desired '<json>' or --tags '<json>' (or both)");
      }
      const patch: TwinUpdate = {};
      if (flags.tags !== undefined) patch.tags = parseJsonObject('--tags', flags.tags);
      if (flags.desired !== undefined) {
        patch.properties = { desired: parseJsonObject('--desired', flags.desired) };
      }
      await using opened = await openRegistry();
      const twin = await opened.registry.updateTwin(args[0] ?? '', patch, {
        etag: flags.etag,
      });
      io.stdout(showTwin(twin, output));
    },
  },
  {
    words: ['twin', 'replace'],
    usage: '<device id> --file <twin.json> [--etag ETAG]',
    summary: 'Replace tags and desired properties with those in a JSON file.',
    azEquivalent: 'az iot hub device-twin replace --json',
    flags: ['file', 'etag'],
    arity: 1,
    async run({ args, flags, output, io, openRegistry }) {
      if (flags.file === undefined) throw new UsageError('twin replace needs --file <twin.json>');
      let text: string;
      try {
        text = await io.readFile(flags.file);
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unreadable';
        throw new UsageError(`--file ${flags.file}: cannot read the file (${code})`);
      }
      const document = parseJsonObject(`--file ${flags.file}`, text);
      const section = (value: JsonValue | undefined, where: string): JsonObject | undefined => {
        if (value === undefined) return undefined;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new UsageError(`--file ${flags.file ?? ''}: ${where} must be a JSON object`);
        }
        return value;
      };
      const properties = section(document.properties, 'properties');
      const tags = section(document.tags, 'tags');
      const desired = section(properties?.desired, 'properties.desired');
      const replacement: TwinUpdate = {};
      if (tags !== undefined) replacement.tags = tags;
      if (desired !== undefined) replacement.properties = { desired };
      await using opened = await openRegistry();
      const twin = await opened.registry.replaceTwin(args[0] ?? '', replacement, {
        etag: flags.etag,
      });
      io.stdout(showTwin(twin, output));
    },
  },
  {
    words: ['twin', 'watch'],
    usage: '<device id> [--interval MS]',
    summary: 'Print each change of a twin as a diff until interrupted (Ctrl-C).',
    azEquivalent: '(none: az iot hub device-twin show, run again by hand)',
    flags: ['interval'],
    arity: 1,
    async run({ args, flags, output, io, openRegistry }) {
      const deviceId = args[0] ?? '';
      const intervalInMs =
        parsePositiveInteger('--interval', flags.interval) ?? DEFAULT_WATCH_INTERVAL_IN_MS;
      await using opened = await openRegistry();
      const read = () => opened.registry.getTwin(deviceId, { abortSignal: io.signal });
      let twin = await read();
      let content = watchedContent(twin);
      if (output === 'json')
        io.stdout(
          `${JSON.stringify({ time: new Date().toISOString(), version: twin.version, etag: twin.etag, twin })}\n`,
        );
      else
        io.stderr(`Watching ${deviceId} from version ${String(twin.version)}; Ctrl-C to stop.\n`);
      const interrupted = () => io.signal.aborted;
      while (!interrupted()) {
        try {
          await sleep(intervalInMs, undefined, { signal: io.signal });
          twin = await read();
        } catch (error) {
          if (interrupted()) return;
          throw error;
        }
        const next = watchedContent(twin);
        const patch = changesBetween(content, next);
        if (patch !== undefined) {
          const time = new Date().toISOString();
          io.stdout(
            output === 'json'
              ? `${JSON.stringify({ time, version: twin.version, etag: twin.etag, patch })}\n`
              : `[${time}] version ${String(twin.version)}\n${describeChanges(content, patch)
                  .map((line) => `  ${line}\n`)
                  .join('')}`,
          );
        }
        content = next;
      }
    },
  },
];

/**
 * `twinkit query "<sql>"`: runs an IoT Hub query and prints every row, page by page.
 */
import { parsePositiveInteger, type Command } from '../command.js';
import { formatJson, formatTable } from '../output/format.js';
import { UsageError } from '../usage-error.js';

/** The columns people see for whole twins; projections show their own fields. */
const TWIN_COLUMNS = ['deviceId', 'moduleId', 'status', 'connectionState', 'version'];

export const queryCommand: Command = {
  words: ['query'],
  usage: '"<sql>" [--top N] [--page-size N]',
  summary: 'Run an IoT Hub query (SELECT … FROM devices …) and print the rows.',
  azEquivalent: 'az iot hub query -q "<sql>" [--top N]',
  flags: ['top', 'page-size'],
  arity: 1,
  async run({ args, flags, output, io, openRegistry }) {
    const sql = args[0] ?? '';
    if (sql.trim() === '')
      throw new UsageError('query needs the query text, e.g. "SELECT * FROM devices"');
    const top = parsePositiveInteger('--top', flags.top);
    const pageSize = parsePositiveInteger('--page-size', flags['page-size']);
    await using opened = await openRegistry();
    const rows: object[] = [];
    const pages = opened.registry
      // query() takes projections and aggregates too; queryTwins() would refuse them.
      .query<object>(sql, { abortSignal: io.signal })
      .byPage(pageSize === undefined ? {} : { maxPageSize: pageSize });
    for await (const page of pages) {
      rows.push(...page.items);
      if (top !== undefined && rows.length >= top) break;
    }
    const shown = top === undefined ? rows : rows.slice(0, top);
    if (output === 'json') {
      io.stdout(formatJson(shown));
      return;
    }
    const wholeTwins = shown.every((row) => 'deviceId' in row && 'properties' in row);
    const columns = wholeTwins
      ? TWIN_COLUMNS.filter((column) => shown.some((row) => column in row))
      : undefined;
    io.stdout(formatTable(shown, columns));
  },
};

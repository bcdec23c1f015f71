#!/usr/bin/env node
/**
 * The `twinkit` executable: runs the command line with the process's streams and environment,
 * and ends long-running commands (`twin watch`) cleanly on Ctrl-C or SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { runCli } from './run-cli.js';

const interrupted = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted.abort();
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  readFile: (path) => readFile(path, 'utf8'),
  signal: interrupted.signal,
});

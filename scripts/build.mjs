#!/usr/bin/env node
// Builds every publishable package and fails on any build warning: esbuild's warnings (such as
// a module dropped because package.json claims it has no side effects) point at code that would
// break in what ships, so CI treats them as errors.
import { spawn } from 'node:child_process';

const WARNING = /\[WARNING\]|▲|^\s*\(!\)|warning TS\d+|^\s*Warning:/im;

const child = spawn('pnpm', ['-r', '--filter', './packages/*', 'run', 'build'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
const lines = [];
for (const stream of [child.stdout, child.stderr]) {
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    process.stdout.write(chunk);
    lines.push(chunk);
  });
}
const code = await new Promise((resolve) => child.on('close', resolve));
if (code !== 0) process.exit(code ?? 1);
const warnings = lines
  .join('')
  .split('\n')
  .filter((line) => WARNING.test(line));
if (warnings.length > 0) {
  console.error(`\nThe build printed ${String(warnings.length)} warning line(s); fix them:`);
  for (const line of warnings) console.error(`  ${line}`);
  process.exit(1);
}

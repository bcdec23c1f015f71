/**
 * TypeScript consumers (issue 11, Deliver 3): a program importing every installed entry and
 * using a few types typechecks with `strict` and `skipLibCheck: false` under each module setting
 * an app may use, with the workspace's `tsc` and the packed app's node_modules (our .d.ts files
 * and every dependency's types they pull in). Under `nodenext` both an ES module (.mts) and a
 * CommonJS one (.cts, which TypeScript ≥ 5.8 lets require our ES modules, as Node ≥ 20.19 does).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, inject, it } from 'vitest';
import { consumerSource } from './helpers/consumer-source.ts';
import { installedEntries } from './helpers/entries.ts';
import { runProgram } from './helpers/run-program.ts';

const { appDir } = inject('packedApp');
const tsc = fileURLToPath(new URL('./node_modules/typescript/bin/tsc', import.meta.url));

const settings = [
  {
    name: 'nodenext (ES module)',
    dir: 'nodenext-esm',
    file: 'consumer.mts',
    module: 'nodenext',
    moduleResolution: 'nodenext',
  },
  {
    name: 'nodenext (CommonJS)',
    dir: 'nodenext-cjs',
    file: 'consumer.cts',
    module: 'nodenext',
    moduleResolution: 'nodenext',
  },
  {
    name: 'esnext + bundler',
    dir: 'bundler',
    file: 'consumer.ts',
    module: 'esnext',
    moduleResolution: 'bundler',
  },
  {
    name: 'commonjs + node10',
    dir: 'node10',
    file: 'consumer.ts',
    module: 'commonjs',
    moduleResolution: 'node10',
  },
] as const;

for (const setting of settings) {
  it(`typechecks a consumer of every entry under ${setting.name}, strict, skipLibCheck false`, async () => {
    const dir = join(appDir, 'consumers', setting.dir);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, setting.file), consumerSource(installedEntries(appDir)));
    const tsconfig = {
      compilerOptions: {
        module: setting.module,
        moduleResolution: setting.moduleResolution,
        target: 'es2022',
        lib: ['es2023'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files: [setting.file],
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const output = await runProgram(
      process.execPath,
      [tsc, '-p', 'tsconfig.json', '--pretty', 'false'],
      { cwd: dir },
    );
    expect(output.stdout + output.stderr).toBe('');
    expect(output.exitCode).toBe(0);
  });
}

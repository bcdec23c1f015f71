/**
 * publint and Are the Types Wrong on every tarball, as a registry would get it. publint must
 * report nothing at any level. attw must report nothing except its one documented, deliberate
 * exception for ES-module-only packages (test/packed/README.md): `CJSResolvesToESM` under
 * `node16-cjs`, which models a Node or TypeScript that cannot require an ES module; our floor,
 * Node ≥ 20.19, can, and typescript.test.ts typechecks a CommonJS consumer under nodenext.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { runProgram } from './helpers/run-program.ts';

const { appDir, tarballs } = inject('packedApp');
const bin = (name: string) =>
  fileURLToPath(new URL(`./node_modules/.bin/${name}`, import.meta.url));

interface AttwProblem {
  kind: string;
  entrypoint?: string;
  resolutionKind?: string;
}

/** The package.json inside a tarball. */
function tarballManifest(tarball: string): { exports?: Record<string, unknown> } {
  const text = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], {
    encoding: 'utf8',
  });
  return JSON.parse(text) as { exports?: Record<string, unknown> };
}

/** The module entries of a manifest's `exports` (everything but `./package.json`). */
function moduleEntries(manifest: { exports?: Record<string, unknown> }): string[] {
  return Object.keys(manifest.exports ?? {}).filter((key) => key !== './package.json');
}

/** The exception test/packed/README.md documents. */
function isDeliberate(problem: AttwProblem): boolean {
  return problem.kind === 'CJSResolvesToESM' && problem.resolutionKind === 'node16-cjs';
}

describe.each(Object.entries(tarballs))('%s tarball', (_name, tarball) => {
  it('passes publint at every level, strict', async () => {
    const output = await runProgram(
      bin('publint'),
      ['run', tarball, '--level', 'suggestion', '--strict'],
      {
        cwd: appDir,
      },
    );
    expect(output.stdout).toContain('All good!');
    expect(output.exitCode).toBe(0);
  });

  it('passes Are the Types Wrong, but for the documented ESM-only exception', async () => {
    const output = await runProgram(bin('attw'), [tarball, '--format', 'json'], { cwd: appDir });
    const report = JSON.parse(output.stdout) as {
      analysis: { types: unknown; problems?: AttwProblem[] };
    };
    if (report.analysis.types === false) {
      // attw has nothing to check in a package without declarations; that is only right for a
      // command-line package, which exports no module entry.
      expect(moduleEntries(tarballManifest(tarball))).toEqual([]);
      return;
    }
    expect((report.analysis.problems ?? []).filter((problem) => !isDeliberate(problem))).toEqual(
      [],
    );
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Docs as tests (docs/internals/architecture.md#testing): every ```ts block of the root README, of docs/ and of each
 * package's README (what npm shows) compiles against the workspace packages. Each block is written to its own module under .snippets/ (inside
 * this package, so `@twinkit/*` resolve through its node_modules) and typechecked with the
 * repository's compiler settings. A block that is a fragment declares what it uses at its top
 * (`declare const registry: Registry;`).
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const snippetDir = fileURLToPath(new URL('./.snippets/', import.meta.url));

/**
 * Markdown files whose snippets must compile: the root README, every guide (not the generated API
 * site) and every package README.
 */
function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const entry of readdirSync(join(repoRoot, 'packages'), { withFileTypes: true })) {
    const readme = join('packages', entry.name, 'README.md');
    if (entry.isDirectory() && existsSync(join(repoRoot, readme))) files.push(readme);
  }
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join('docs', 'api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

interface Snippet {
  /** `docs/service-guide.md:42` */
  origin: string;
  file: string;
  code: string;
}

/** The ```ts blocks of a markdown file, with the line each starts on. */
function extractSnippets(markdownPath: string): Snippet[] {
  const lines = readFileSync(join(repoRoot, markdownPath), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  let start = -1;
  let body: string[] = [];
  lines.forEach((line, index) => {
    if (start < 0 && /^```(ts|typescript)\s*$/.test(line)) {
      start = index + 1;
      body = [];
    } else if (start >= 0 && /^```\s*$/.test(line)) {
      const slug = markdownPath.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      // `export {}` makes every block a module, so top-level await and repeated names are fine.
      snippets.push({
        origin: `${markdownPath}:${String(start)}`,
        file: join(snippetDir, `${slug}-${String(start)}.ts`),
        code: `${body.join('\n')}\nexport {};\n`,
      });
      start = -1;
    } else if (start >= 0) {
      body.push(line);
    }
  });
  return snippets;
}

const snippets = markdownFiles().flatMap(extractSnippets);
const diagnostics = new Map<string, string[]>();

beforeAll(() => {
  rmSync(snippetDir, { recursive: true, force: true });
  mkdirSync(snippetDir, { recursive: true });
  for (const snippet of snippets) writeFileSync(snippet.file, snippet.code);
  const base = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, 'tsconfig.base.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (base === undefined) throw new Error('tsconfig.base.json could not be read');
  // Snippets show Node programs, so resolve the packages as Node does (their `node` condition).
  // The service README shows undici as a custom fetch; a reader installs it, the repository has it
  // as a devDependency of @twinkit/service, so resolve it from there.
  const options: ts.CompilerOptions = {
    ...base.options,
    customConditions: ['@twinkit/source', 'node'],
    baseUrl: repoRoot,
    paths: { undici: ['packages/service/node_modules/undici'] },
    noEmit: true,
  };
  const program = ts.createProgram(
    snippets.map((snippet) => snippet.file),
    options,
  );
  for (const snippet of snippets) {
    const source = program.getSourceFile(snippet.file);
    if (source === undefined) throw new Error(`${snippet.file} is not in the program`);
    const found = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    diagnostics.set(
      snippet.file,
      found.map((diagnostic) => {
        const { line } =
          diagnostic.start === undefined
            ? { line: 0 }
            : source.getLineAndCharacterOfPosition(diagnostic.start);
        return `line ${String(line + 1)} of the block: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      }),
    );
  }
}, 120_000);

afterAll(() => {
  // Temporary files only: they must not linger for eslint or git.
  rmSync(snippetDir, { recursive: true, force: true });
});

describe('snippets', () => {
  it('finds the ts blocks of the README, the guides and the package READMEs', () => {
    expect(snippets.length).toBeGreaterThan(20);
    for (const name of ['twin-model', 'service', 'device', 'hub']) {
      expect(
        snippets.some((snippet) => snippet.origin.startsWith(`packages/${name}/README.md:`)),
      ).toBe(true);
    }
  });

  for (const snippet of snippets) {
    it(`${snippet.origin} compiles`, () => {
      expect(
        diagnostics.get(snippet.file),
        `${relative(repoRoot, snippet.file)} from ${snippet.origin}`,
      ).toEqual([]);
    });
  }
});

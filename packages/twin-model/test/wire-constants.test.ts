/**
 * Every protocol string (header names, paths, api-version, topic and link prefixes, token schemes)
 * is written once, in twin-model's `src/protocol`, and imported everywhere else, so the clients and
 * the hub cannot drift apart. This test reads the source of the packages it covers and fails on a
 * string literal that spells one of those wire strings anywhere else. Comments are not code and
 * are not checked; tests are allowed their literals (they check the wire as it is).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  API_VERSION_PARAMETER,
  BEARER_SCHEME,
  BULK_PATH,
  HEADER,
  JSON_MEDIA_TYPE,
  KnownBulkImportMode,
  QUERY_PATH,
  SAS_TOKEN_PREFIX,
} from '@twinkit/twin-model/protocol';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Packages whose `src` is checked: every package that speaks the wire. */
const CHECKED = [
  'packages/twin-model/src',
  'packages/service/src',
  'packages/hub/src',
  'packages/device/src',
];

/** The one folder allowed to spell them. */
const HOME = 'packages/twin-model/src/protocol';

/** Literals that are a wire string exactly (compared case-insensitively). */
const EXACT = new Set(
  [
    ...Object.values(HEADER),
    API_VERSION,
    API_VERSION_PARAMETER,
    BEARER_SCHEME,
    JSON_MEDIA_TYPE,
    QUERY_PATH,
    BULK_PATH,
    KnownBulkImportMode.UpdateTwinIfMatchETag,
    'AMQPWSB10',
    'DeviceJob',
  ].map((text) => text.toLowerCase()),
);

/** Fragments no literal outside the protocol folder may contain. */
const FRAGMENTS = [
  '/twins/',
  QUERY_PATH,
  '$iothub/',
  `${API_VERSION_PARAMETER}=`,
  'amqpwsb10',
  SAS_TOKEN_PREFIX.toLowerCase(),
  'x-ms-',
  'iothub-errorcode',
];

/**
 * The wire strings a source text spells outside comments.
 *
 * @param fileName - for the parser
 * @param text - TypeScript source
 * @returns `line: literal` for each offending literal
 */
function findWireLiterals(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      const value = node.text.toLowerCase();
      // An import specifier names a module, not the wire.
      const inImport = ts.isImportDeclaration(node.parent) || ts.isExportDeclaration(node.parent);
      if (!inImport && (EXACT.has(value) || FRAGMENTS.some((part) => value.includes(part)))) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${line + 1}: ${node.getText()}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !/\.(test|test-d|bench)\.ts$/.test(entry.name))
      files.push(path);
  }
  return files;
}

describe('wire constants', () => {
  it('finds wire strings in code but not in comments or imports', () => {
    const sample = [
      "import { HEADER } from '@twinkit/twin-model/protocol';",
      '// x-ms-continuation in a comment is prose',
      "const a = 'x-ms-continuation';",
      'const b = `/twins/${id}`;',
      "const c = 'If-Match';",
      "const d = 'twins';",
    ].join('\n');
    expect(findWireLiterals('sample.ts', sample)).toEqual([
      "3: 'x-ms-continuation'",
      '4: `/twins/${',
      "5: 'If-Match'",
    ]);
  });

  it('are spelt only in twin-model/protocol in every package that speaks the wire', () => {
    const offending: string[] = [];
    let checked = 0;
    for (const dir of CHECKED) {
      for (const file of sourceFiles(dir)) {
        if (!relative(HOME, file).startsWith('..')) continue;
        checked++;
        for (const hit of findWireLiterals(file, readFileSync(join(repoRoot, file), 'utf8')))
          offending.push(`${file}:${hit}`);
      }
    }
    expect(checked).toBeGreaterThan(150);
    expect(offending).toEqual([]);
  });
});

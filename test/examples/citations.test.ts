/**
 * Code comments cite the project's own notes (docs/internals/*.md) by file and section anchor, so
 * a reader can follow them. This test fails on a citation that does not resolve to an existing
 * file and heading, and on the old citation forms (`protocol.md §6.5`, `twin-semantics §2.3`,
 * `house-style 4.5`, a bare `§4.2`) that pointed outside the repository. It also checks the links
 * between the notes themselves.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SELF = relative(repoRoot, fileURLToPath(import.meta.url));

/** Folders whose citations (and, in markdown, links between notes) are checked: all of them. */
const CHECKED = ['packages', 'test', 'docs', 'examples'];

/** Old forms that point outside the repository. */
const STALE =
  /(?:protocol|twin-semantics|house-style)(?:\.md)?,? ?§|§ ?\d|house-style \d|shared\/(?:spec|design)\//;

/**
 * Sections of public standards (`AMQP 1.0 §2.4.5`, `MQTT 3.1.1 §3.1`, `RFC 5280 §4.2`): a reader
 * can follow those, so they are not stale citations.
 */
const STANDARD_SECTION =
  /\b(?:AMQP 1\.0|MQTT(?: 3\.1\.1| 5(?:\.0)?)?|RFC ?\d+|X\.\d+)\s*§\s*[\d.]+/g;

/** A repository path to a note, with an optional anchor. */
const CITATION = /(?<![\w/.-])(docs\/[\w/.-]+\.md)(?:#([\w-]+))?/g;

/** A markdown link to a sibling note or an anchor of the same note. */
const MARKDOWN_LINK = /\]\((?!https?:)([\w./-]*\.md)?(?:#([\w-]+))?\)/g;

/** GitHub's heading slug: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();

/** The anchors a markdown file offers: explicit `<a id>` tags and heading slugs. */
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors === undefined) {
    anchors = new Set();
    const text = readFileSync(join(repoRoot, file), 'utf8');
    for (const match of text.matchAll(/<a id="([\w-]+)"><\/a>/g)) anchors.add(match[1] ?? '');
    for (const match of text.matchAll(/^#{1,6} (.+)$/gm)) anchors.add(slug(match[1] ?? ''));
    anchorCache.set(file, anchors);
  }
  return anchors;
}

function resolves(file: string, anchor: string | undefined): boolean {
  if (!existsSync(join(repoRoot, file))) return false;
  return anchor === undefined || anchorsOf(file).has(anchor);
}

/**
 * The problems of one file's citations.
 *
 * @param file - repository-relative path
 * @param text - its contents
 * @returns `line: problem` entries
 */
function checkCitations(file: string, text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    const at = `${file}:${index + 1}`;
    if (STALE.test(line.replace(STANDARD_SECTION, '')))
      problems.push(`${at}: cites a section outside the repository: ${line.trim()}`);
    for (const match of line.matchAll(CITATION)) {
      const [, target = '', anchor] = match;
      if (!resolves(target, anchor)) problems.push(`${at}: ${match[0]} does not resolve`);
    }
    if (file.endsWith('.md')) {
      for (const match of line.matchAll(MARKDOWN_LINK)) {
        const [, target, anchor] = match;
        const linked = target === undefined ? file : normalize(join(dirname(file), target));
        if (!resolves(linked, anchor)) problems.push(`${at}: link ${match[0]} does not resolve`);
      }
    }
  });
  return problems;
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const absolute = join(repoRoot, dir);
  if (!existsSync(absolute)) return found;
  for (const entry of readdirSync(absolute, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (/\.(ts|md)$/.test(entry.name)) found.push(relative(repoRoot, join(repoRoot, path)));
  }
  return found;
}

describe('citations', () => {
  it('flags stale forms and citations of missing files or sections', () => {
    const sample = [
      '// merge as in twin-semantics §2.3',
      '// see protocol.md §6.5',
      '// the rule of §4.2',
      '// docs/internals/wire-contract.md#no-such-section',
      '// docs/internals/no-such-note.md',
      '// fine: docs/internals/wire-contract.md#etags-and-if-match and docs/internals/twin-semantics.md',
    ].join('\n');
    expect(checkCitations('sample.ts', sample).map((problem) => problem.split(':')[1])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
  });

  it('resolve to an existing note and section everywhere in the repository', () => {
    const problems: string[] = [];
    let citations = 0;
    for (const dir of CHECKED) {
      for (const file of filesUnder(dir)) {
        // This file spells the stale forms on purpose, as samples.
        if (file === SELF) continue;
        const text = readFileSync(join(repoRoot, file), 'utf8');
        citations += [...text.matchAll(CITATION)].length;
        problems.push(...checkCitations(file, text));
      }
    }
    expect(problems).toEqual([]);
    expect(citations).toBeGreaterThan(150);
  });
});

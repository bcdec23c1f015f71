/**
 * The explorer's page, styles and scripts: plain files shipped in the package (src/explorer/
 * explorer-assets/, copied to dist/explorer-assets/ by the build), read once and served from
 * memory. Nothing is fetched from elsewhere, so the explorer works offline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file to serve. */
export interface ExplorerAsset {
  contentType: string;
  body: Uint8Array;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// Sources sit in src/explorer/ beside the folder; bundles in dist/ beside its copy.
const ASSETS_DIR = new URL('./explorer-assets/', import.meta.url);

let cache: Map<string, ExplorerAsset> | undefined;

/**
 * The assets by file name (no directories), read on first use.
 *
 * @returns the assets
 * @throws {@link Error} naming the folder when the package was installed without it
 */
export function explorerAssets(): ReadonlyMap<string, ExplorerAsset> {
  if (cache !== undefined) return cache;
  const folder = fileURLToPath(ASSETS_DIR);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    throw new Error(
      `The explorer's files are missing from ${folder}; reinstall @twinkit/hub (or run pnpm build).`,
      { cause: error },
    );
  }
  const assets = new Map<string, ExplorerAsset>();
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    assets.set(name, { contentType, body: readFileSync(new URL(name, ASSETS_DIR)) });
  }
  cache = assets;
  return assets;
}

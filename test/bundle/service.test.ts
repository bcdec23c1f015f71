/**
 * Size budgets of the service in browsers (issue 16), measured from the built packages as
 * bench/compare/measure-static.mjs measures them, so run `pnpm build` first.
 */
import { describe, expect, it } from 'vitest';
import { SIZE_PROGRAMS, browserBundle } from './size-programs.mjs';

/** Texts that only device transports and the query engine use: no service bundle may carry them. */
const deviceOnly = ['$iothub/twin', 'amqp:unauthorized-access', 'MSSBCBS', 'IS_PRIMITIVE'];

describe('@twinkit/service bundled for browsers', () => {
  it('keeps a get-update-query program on @twinkit/service/twins under 12 KB gzipped', async () => {
    const { code, gzipped } = await browserBundle(SIZE_PROGRAMS['service-twins']);
    console.log(
      `service/twins program: ${String(code.length)} B minified, ${String(gzipped)} B gzipped`,
    );
    // Issue 16's goal. It measured 11.4 KB when set: the twin rules are the hub's to check here
    // (a Registry checks them itself), key-signed clients do not carry the SAS token parser, and
    // twin clients not the identity operations.
    expect(gzipped).toBeLessThan(12 * 1024);
    expect(code).not.toContain('Property or Tag name has invalid characters');
    expect(code).not.toContain('SAS token is missing');
    expect(code).not.toContain('Device create');
    for (const text of deviceOnly) expect(code).not.toContain(text);
  });

  it('keeps the same program on the Registry class under its 17.5 KB budget', async () => {
    const { code, gzipped } = await browserBundle(SIZE_PROGRAMS['service-registry']);
    console.log(
      `Registry program: ${String(code.length)} B minified, ${String(gzipped)} B gzipped`,
    );
    // A regression budget: class methods cannot be tree-shaken, so identities, bulk updates,
    // rollouts and the twin rules all come along (16.8 KB when set, 18.6 KB before twin-model's
    // tables were marked pure); the 12 KB goal is met by the program above.
    expect(gzipped).toBeLessThan(17.5 * 1024);
    for (const text of deviceOnly) expect(code).not.toContain(text);
  });
});

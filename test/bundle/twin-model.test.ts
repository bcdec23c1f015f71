import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleProgram, bundleTargets } from './bundle-check.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const entries = [
  '@twinkit/twin-model',
  '@twinkit/twin-model/errors',
  '@twinkit/twin-model/protocol',
  '@twinkit/twin-model/query',
  '@twinkit/twin-model/internal',
];

describe('@twinkit/twin-model in browsers and workers', () => {
  for (const target of bundleTargets) {
    for (const entry of entries) {
      it(`bundles ${entry} for ${target.name} with no Node built-ins`, async () => {
        const report = await bundleProgram(`export * from '${entry}';`, target);
        expect(report.nodeImports).toEqual([]);
        expect(report.bytes).toBeGreaterThan(0);
      });
    }
  }
});

describe('@twinkit/twin-model built output in Node', () => {
  // These resolve the package the way an installed app does: no source condition, so dist/.
  it('loads every entry from CommonJS', () => {
    const script = `
      const model = require('@twinkit/twin-model');
      const errors = require('@twinkit/twin-model/errors');
      const protocol = require('@twinkit/twin-model/protocol');
      const query = require('@twinkit/twin-model/query');
      const merged = model.applyPatch({ a: 1, b: { c: 2 } }, { b: { c: null }, d: [1] });
      const err = errors.createHubError({ statusCode: 412 });
      process.stdout.write(JSON.stringify({
        merged, name: err.name,
        topic: protocol.twinGetTopic('1'),
        count: query.compileQuery('SELECT * FROM devices').execute([{ deviceId: 'x' }]).length,
      }));`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: here, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      merged: { a: 1, b: {}, d: [1] },
      name: 'PreconditionFailedError',
      topic: '$iothub/twin/GET/?$rid=1',
      count: 1,
    });
  });

  it('loads every entry from an ES module', () => {
    const script = `
      import { applyPatch, formatEtag } from '@twinkit/twin-model';
      import { isPreconditionFailedError, createHubError } from '@twinkit/twin-model/errors';
      import { parseConnectionString } from '@twinkit/twin-model/protocol';
      import { parseQuery } from '@twinkit/twin-model/query';
      process.stdout.write(JSON.stringify({
        merged: applyPatch({ a: { b: 1 } }, { a: { c: 2 } }),
        etag: formatEtag(1),
        guard: isPreconditionFailedError(createHubError({ statusCode: 412 })),
        host: parseConnectionString('HostName=h;DeviceId=d;SharedAccessKey=a2V5').HostName,
        parsed: typeof parseQuery('SELECT * FROM devices'),
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: here,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({
      merged: { a: { b: 1, c: 2 } },
      etag: 'AAAAAAAAAAE=',
      guard: true,
      host: 'h',
      parsed: 'object',
    });
  });
});

/**
 * Runs the OFFICIAL azure-iothub Registry, unmodified, against a hub on 127.0.0.1:443.
 * Started by test/interop.test.ts with NODE_EXTRA_CA_CERTS=<hub ca.pem> (read at process start,
 * hence a child process) and IOTHUB_CONNECTION_STRING=HostName=localhost;…
 * Prints one JSON line with what it observed; exits non-zero on unexpected failures.
 */
'use strict';
const { Registry } = require('azure-iothub');

async function main() {
  const registry = Registry.fromConnectionString(process.env.IOTHUB_CONNECTION_STRING);
  const report = {};

  const created = await registry.create({ deviceId: 'interop-dev' });
  report.created = {
    deviceId: created.responseBody.deviceId,
    hasKey: typeof created.responseBody.authentication.symmetricKey.primaryKey === 'string',
  };

  const { responseBody: twin } = await registry.getTwin('interop-dev');
  report.twin = { deviceId: twin.deviceId, etag: twin.etag, version: twin.version };

  const { responseBody: updated } = await registry.updateTwin(
    'interop-dev',
    { tags: { city: 'Paris' }, properties: { desired: { rate: 5 } } },
    twin.etag,
  );
  report.updated = {
    etag: updated.etag,
    tags: updated.tags,
    rate: updated.properties.desired.rate,
  };

  try {
    await registry.updateTwin('interop-dev', { tags: { city: 'Lyon' } }, twin.etag);
    report.stale = { rejected: false };
  } catch (error) {
    report.stale = {
      rejected: true,
      name: error.name,
      statusCode: error.response ? error.response.statusCode : undefined,
    };
  }

  for (let i = 0; i < 4; i += 1) await registry.create({ deviceId: `interop-extra-${i}` });
  const query = registry.createQuery('SELECT * FROM devices', 2);
  const pages = [];
  const ids = [];
  do {
    const { result } = await query.nextAsTwin();
    pages.push(result.length);
    for (const item of result) ids.push(item.deviceId);
    if (pages.length > 10) throw new Error('query did not end');
  } while (query.hasMoreResults);
  report.query = { pages, ids: ids.sort(), firstIsTwin: true };

  const { responseBody: device } = await registry.get('interop-dev');
  report.get = { deviceId: device.deviceId, status: device.status };

  try {
    await registry.getTwin('does-not-exist');
    report.missing = { rejected: false };
  } catch (error) {
    report.missing = { rejected: true, name: error.name };
  }

  await registry.delete('interop-extra-0');
  report.deleted = true;

  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  process.stderr.write(`interop failed: ${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});

import { createServer } from 'node:net';
import { Registry } from '@twinkit/service';
import { describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { runCaptured, startCliFixture } from './cli-harness.js';

describe('twinkit', () => {
  it('lists every command with its az iot hub counterpart in the help', async () => {
    const help = await runCaptured(['--help']);
    expect(help.code).toBe(ExitCode.ok);
    for (const command of [
      'device list',
      'device show',
      'device create',
      'device delete',
      'twin show',
      'twin update',
      'twin replace',
      'twin watch',
      'query',
    ]) {
      expect(help.stdout).toContain(`twinkit ${command}`);
    }
    const commandHelp = await runCaptured(['twin', 'update', '--help']);
    expect(commandHelp.stdout).toContain('Like: az iot hub device-twin update');
    expect((await runCaptured(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('says how to name the hub when there is none, with exit code 2', async () => {
    const run = await runCaptured(['device', 'list']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toBe(
      'twinkit: No hub given: pass --hub "<service connection string>" or set IOTHUB_CONNECTION_STRING (see "twinkit --help")\n',
    );
  });

  it('rejects unknown commands and flags in one line, without a stack trace', async () => {
    const unknown = await runCaptured(['device', 'rename', 'x']);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.stderr).toMatch(
      /^twinkit: unknown command 'device rename'; commands: device list, /,
    );
    const flag = await runCaptured(['device', 'list', '--colour']);
    expect(flag.code).toBe(ExitCode.usage);
    expect(flag.stderr.split('\n')).toHaveLength(2);
    expect(flag.stderr).toContain("'--colour'");
  });

  it('creates, lists, shows and deletes devices, in table and in the service JSON', async () => {
    await using cli = await startCliFixture();
    const created = await cli.run(['device', 'create', 'thermostat-1']);
    expect(created.code).toBe(ExitCode.ok);
    expect(created.stdout).toMatch(
      /connectionString\s+HostName=localhost:\d+;DeviceId=thermostat-1;SharedAccessKey=/,
    );

    const listed = await cli.run(['device', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^deviceId\s+status\s+connectionState\s+lastActivityTime$/,
    );
    expect(listed.stdout).toMatch(/\nthermostat-1\s+enabled\s+Disconnected/);

    const shown = await cli.run(['device', 'show', 'thermostat-1', '--output', 'json']);
    const registry = Registry.fromConnectionString(cli.testHub.serviceConnectionString, {
      fetch: cli.testHub.fetch,
    });
    expect(JSON.parse(shown.stdout)).toEqual(
      JSON.parse(JSON.stringify(await registry.getDevice('thermostat-1'))),
    );
    const table = await cli.run(['device', 'show', 'thermostat-1']);
    expect(table.stdout).toMatch(/authentication\.type\s+sas/);
    expect(table.stdout).not.toContain('primaryKey');

    expect((await cli.run(['device', 'delete', 'thermostat-1'])).stdout).toBe(
      'Deleted device thermostat-1.\n',
    );
    const gone = await cli.run(['device', 'show', 'thermostat-1']);
    expect(gone.code).toBe(ExitCode.notFound);
    expect(gone.stderr).toMatch(/^twinkit: .*thermostat-1/);
  });

  it('updates desired properties and tags, and refuses a stale ETag with exit code 4', async () => {
    await using cli = await startCliFixture();
    await cli.testHub.createDevice('dev-1');
    const first = JSON.parse((await cli.run(['twin', 'show', 'dev-1', '-o', 'json'])).stdout) as {
      etag: string;
    };
    const updated = await cli.run([
      'twin',
      'update',
      'dev-1',
      '--desired',
      '{"fanOn":true}',
      '--tags',
      '{"plant":"Redmond43"}',
      '--etag',
      first.etag,
      '-o',
      'json',
    ]);
    expect(updated.code).toBe(ExitCode.ok);
    const twin = JSON.parse(updated.stdout) as {
      tags: unknown;
      properties: { desired: { fanOn: boolean; $version: number } };
    };
    expect(twin.tags).toEqual({ plant: 'Redmond43' });
    expect(twin.properties.desired).toMatchObject({ fanOn: true, $version: 2 });

    const stale = await cli.run([
      'twin',
      'update',
      'dev-1',
      '--desired',
      '{"fanOn":false}',
      '--etag',
      first.etag,
    ]);
    expect(stale.code).toBe(ExitCode.conflict);
    expect(stale.stderr.trim().split('\n')).toHaveLength(1);

    const table = await cli.run(['twin', 'show', 'dev-1']);
    expect(table.stdout).toMatch(/properties\.desired\.fanOn\s+true/);
  });

  it('says what is wrong with JSON given on the command line', async () => {
    await using cli = await startCliFixture();
    await cli.testHub.createDevice('dev-1');
    const bad = await cli.run(['twin', 'update', 'dev-1', '--desired', '{fanOn:true}']);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.stderr).toMatch(/^twinkit: --desired: not valid JSON .*quote it for your shell/);
    const array = await cli.run(['twin', 'update', 'dev-1', '--tags', '[1]']);
    expect(array.stderr).toContain('--tags: expected a JSON object');
    const none = await cli.run(['twin', 'update', 'dev-1']);
    expect(none.stderr).toContain("twin update needs --desired '<json>' or --tags '<json>'");
  });

  it('replaces tags and desired properties from a file', async () => {
    await using cli = await startCliFixture();
    await cli.testHub.createDevice('dev-1');
    await cli.run(['twin', 'update', 'dev-1', '--desired', '{"old":1}', '--tags', '{"old":1}']);
    const file = cli.writeFile(
      'twin.json',
      JSON.stringify({ tags: { site: 'lyon' }, properties: { desired: { mode: 'eco' } } }),
    );
    const replaced = await cli.run(['twin', 'replace', 'dev-1', '--file', file, '-o', 'json']);
    expect(replaced.code).toBe(ExitCode.ok);
    const twin = JSON.parse(replaced.stdout) as {
      tags: unknown;
      properties: { desired: Record<string, unknown> };
    };
    expect(twin.tags).toEqual({ site: 'lyon' });
    expect(twin.properties.desired.mode).toBe('eco');
    expect(twin.properties.desired.old).toBeUndefined();
    const missing = await cli.run(['twin', 'replace', 'dev-1', '--file', '/nonexistent/twin.json']);
    expect(missing.stderr).toBe(
      'twinkit: --file /nonexistent/twin.json: cannot read the file (ENOENT) (see "twinkit --help")\n',
    );
  });

  it('pages through a query and stops at --top', async () => {
    await using cli = await startCliFixture();
    for (const id of ['a', 'b', 'c', 'd', 'e']) await cli.testHub.createDevice(id);
    const json = await cli.run([
      'query',
      'SELECT * FROM devices',
      '--page-size',
      '2',
      '--top',
      '3',
      '-o',
      'json',
    ]);
    expect(json.code).toBe(ExitCode.ok);
    expect(
      (JSON.parse(json.stdout) as { deviceId: string }[]).map((row) => row.deviceId),
    ).toHaveLength(3);
    const table = await cli.run(['query', 'SELECT * FROM devices']);
    expect(table.stdout.split('\n')[0]).toMatch(/^deviceId\s+status\s+connectionState\s+version$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(6);
    const invalid = await cli.run(['query', 'SELECT * FROM nowhere']);
    expect(invalid.code).toBe(ExitCode.usage);
  });

  it('prints each change of a watched twin as a diff until interrupted', async () => {
    await using cli = await startCliFixture();
    await cli.testHub.createDevice('dev-1');
    const registry = Registry.fromConnectionString(cli.testHub.serviceConnectionString, {
      fetch: cli.testHub.fetch,
    });
    const interrupt = new AbortController();
    const live = { stdout: '', stderr: '' };
    const watching = cli.run(['twin', 'watch', 'dev-1', '--interval', '20'], {
      signal: interrupt.signal,
      live,
    });
    const wait = { timeout: 10_000, interval: 20 };
    await vi.waitFor(() => {
      expect(live.stderr).toContain('Watching dev-1 from version');
    }, wait);
    await registry.updateTwin('dev-1', {
      tags: { site: 'lyon' },
      properties: { desired: { fanOn: true } },
    });
    await vi.waitFor(() => {
      expect(live.stdout).toContain('+ properties.desired.fanOn = true');
    }, wait);
    await registry.updateTwin('dev-1', {
      tags: { site: null },
      properties: { desired: { fanOn: false } },
    });
    await vi.waitFor(() => {
      expect(live.stdout).toContain('~ properties.desired.fanOn: true → false');
    }, wait);
    interrupt.abort();
    const run = await watching;
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toContain('+ tags.site = "lyon"');
    expect(run.stdout).toContain('- tags.site');
    expect(run.stderr).toContain('Watching dev-1 from version');
  });

  it('says the hub is unreachable with exit code 6: a closed port, and a CA it does not trust', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await runCaptured(
      [
        'device',
        'list',
        '--hub',
        `HostName=127.0.0.1:${String(port)};SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5`,
      ],
      {
        env: {},
      },
    );
    expect(refused.code).toBe(ExitCode.unreachable);
    expect(refused.stderr).toMatch(/^twinkit: .*(ECONNREFUSED|refused)/);

    await using cli = await startCliFixture();
    const untrusted = await runCaptured(['device', 'list'], {
      env: { IOTHUB_CONNECTION_STRING: cli.testHub.serviceConnectionString },
    });
    expect(untrusted.code).toBe(ExitCode.unreachable);
    expect(untrusted.stderr).toContain('--ca');
  });

  it('reads the hub from IOTHUB_CONNECTION_STRING and reports a malformed one as a usage error', async () => {
    const malformed = await runCaptured(['device', 'list'], {
      env: { IOTHUB_CONNECTION_STRING: 'HostName=x' },
    });
    expect(malformed.code).toBe(ExitCode.usage);
    expect(malformed.stderr).toMatch(/^twinkit: The hub connection string is not valid/);
  });
});

// Client CPU per call of the service calls, ours vs raw undici vs azure-iothub, against one hub in a
// child process: `node bench/service-cpu/main.mjs` (env: CLIENTS, SCENARIOS, N, NQ, ROUNDS, PROF=1 for
// --cpu-prof of ours; FLOOR_VARIANT=h|s|hs adds our headers / a per-call AbortSignal to the floor;
// ours:OURS_TIMEOUT=0 runs ours with no operation timeout, ours:OURS_FETCH=1 on global fetch).
// Run `pnpm build` first. diff.mjs <profDirA> <profDirB> <calls> compares self time per call.
import { spawn } from 'node:child_process';
const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const { startHub } = await import(`${root}/bench/compare/hub.mjs`);
const { ready, child } = await startHub();
// Also when a runner's output cannot be parsed: a hub left behind keeps its ports (443 among them).
process.on('exit', () => child.kill());
const env = {
  ...process.env,
  NODE_EXTRA_CA_CERTS: ready.caFile,
  BENCH_SERVICE_CS: ready.serviceConnectionString,
};
// clients: name[:ENV=VAL] entries
const clients = (process.env.CLIENTS ?? 'ours,floor,official').split(',');
const scenarios = (process.env.SCENARIOS ?? 'get,update,query').split(',');
const N = {
  get: Number(process.env.N ?? 5000),
  update: Number(process.env.N ?? 5000),
  query: Number(process.env.NQ ?? 200),
};
const rounds = Number(process.env.ROUNDS ?? 5);
const res = {};
for (let r = 0; r < rounds; r++)
  for (const s of scenarios)
    for (const c of r % 2 ? [...clients].reverse() : clients) {
      const [name, ...kv] = c.split(':');
      const e = { ...env, ...Object.fromEntries(kv.map((x) => x.split('='))) };
      const extra =
        process.env.PROF && name === 'ours' && r === 0
          ? ['--cpu-prof', '--cpu-prof-dir', `${process.env.PROF_DIR ?? '/tmp'}/prof-${s}-${c}`]
          : [];
      const out = await new Promise((resolve) => {
        let o = '';
        const p = spawn(
          process.execPath,
          [...extra, new URL('runner.mjs', import.meta.url).pathname, name, s, String(N[s])],
          { env: e, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        p.stdout.on('data', (d) => (o += d));
        p.on('close', () => resolve(JSON.parse(o.trim().split('\n').pop())));
      });
      ((res[s] ??= {})[c] ??= []).push(out);
    }
const med = (a) => {
  const v = [...a].sort((x, y) => x - y);
  return v[Math.floor(v.length / 2)];
};
for (const s of scenarios)
  for (const c of clients) {
    const rs = res[s][c];
    console.log(
      s.padEnd(7),
      c.padEnd(22),
      'cpu/call med',
      med(rs.map((x) => x.cpuUs))
        .toFixed(1)
        .padStart(7),
      'min',
      Math.min(...rs.map((x) => x.cpuUs))
        .toFixed(1)
        .padStart(7),
      ' wall/call med',
      med(rs.map((x) => x.wallUs))
        .toFixed(1)
        .padStart(7),
      ' all',
      rs.map((x) => x.cpuUs).join(' '),
    );
  }
child.kill();

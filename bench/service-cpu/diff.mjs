import { readFileSync, readdirSync } from 'node:fs';
function load(dir) {
  const file = `${dir}/${readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .pop()}`;
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url
      .replace(/.*node_modules\//, 'nm/')
      .replace(/.*\/packages\//, '')
      .replace(/.*undici@[^/]*\//, '')}:${n.callFrame.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  return self;
}
const [a, b, calls] = [
  load(process.argv[2]),
  load(process.argv[3]),
  Number(process.argv[4] ?? 22000),
];
const keys = new Set([...a.keys(), ...b.keys()]);
const rows = [...keys]
  .map((k) => [
    k,
    ((a.get(k) ?? 0) - (b.get(k) ?? 0)) / calls,
    (a.get(k) ?? 0) / calls,
    (b.get(k) ?? 0) / calls,
  ])
  .sort((x, y) => y[1] - x[1]);
let sa = 0,
  sb = 0;
for (const v of a.values()) sa += v;
for (const v of b.values()) sb += v;
console.log(
  'total us/call',
  (sa / calls).toFixed(1),
  (sb / calls).toFixed(1),
  'idle',
  ((a.get('(idle) :-1') ?? 0) / calls).toFixed(1),
  ((b.get('(idle) :-1') ?? 0) / calls).toFixed(1),
);
for (const r of rows.slice(0, Number(process.argv[5] ?? 50)))
  console.log(
    r[1].toFixed(2).padStart(7),
    r[2].toFixed(2).padStart(7),
    r[3].toFixed(2).padStart(7),
    r[0],
  );
console.log('...most negative');
for (const r of rows.slice(-8))
  console.log(
    r[1].toFixed(2).padStart(7),
    r[2].toFixed(2).padStart(7),
    r[3].toFixed(2).padStart(7),
    r[0],
  );

/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`, or `node --cpu-prof`):
 * self time by function and by file, so a hot spot can be named precisely.
 *
 *   npx tsx bench/tools/profile-summary.ts bench/results/profiles/CPU.*.cpuprofile [--top 25] [--callers name]
 *
 * `--callers writeUtf8String` lists the call paths (4 frames up) that spend self time in that function.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, callers: { type: 'string' } },
});
const top = Number(values.top);

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    const where = shorten(frame.url);
    const fn = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(where || '(native/vm)', (byFile.get(where || '(native/vm)') ?? 0) + us);
  }
  const idleUs = [...selfUs]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((a, [, v]) => a + v, 0);
  process.stdout.write(
    `\n${file}\n  wall ${(totalUs / 1000).toFixed(0)} ms, busy ${((totalUs - idleUs) / 1000).toFixed(0)} ms\n`,
  );
  print('self time by function', byFunction, totalUs - idleUs);
  print('self time by file', byFile, totalUs - idleUs);
  if (values.callers) {
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const paths = new Map<string, number>();
    for (const [id, us] of selfUs) {
      if (byId.get(id)?.callFrame.functionName !== values.callers) continue;
      const frames: string[] = [];
      for (let up = parent.get(id); up !== undefined && frames.length < 4; up = parent.get(up)) {
        const f = byId.get(up)!.callFrame;
        frames.push(`${f.functionName || '(anonymous)'} ${shorten(f.url)}:${f.lineNumber + 1}`);
      }
      const key = frames.join(' < ');
      paths.set(key, (paths.get(key) ?? 0) + us);
    }
    print(`callers of ${values.callers}`, paths, totalUs - idleUs);
  }
}

function print(title: string, table: Map<string, number>, busyUs: number): void {
  process.stdout.write(`  ${title} (% of busy):\n`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `  ${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
    );
  }
}

function shorten(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/packages\/celeriac\/src\//, 'celeriac/')
    .replace(/^.*\/bench\//, 'bench/');
}

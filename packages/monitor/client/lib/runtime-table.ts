import { formatDuration } from './format.ts';
import type { RuntimeStats } from './types.ts';

/** Refreshes the server-rendered percentile table (`table.runtimes`) inside `root`. */
export function fillRuntimeTable(root: ParentNode, runtimes: RuntimeStats[]): void {
  const body = root.querySelector<HTMLTableElement>('table.runtimes')?.tBodies[0];
  if (!body) return;
  body.replaceChildren(
    ...runtimes.map((r) => {
      const row = document.createElement('tr');
      for (const text of [
        r.name,
        String(r.count),
        formatDuration(r.p50),
        formatDuration(r.p90),
        formatDuration(r.p99),
        formatDuration(r.max),
      ])
        row.insertCell().textContent = text;
      return row;
    }),
  );
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One chaos scenario's figures: a row of the RELIABILITY.md table. */
export interface ScenarioResult {
  /** Stable file name for the JSON record, e.g. `kill-worker-async`. */
  id: string;
  /** What was done, in a few words. */
  scenario: string;
  /** Load applied, e.g. `10,000 acksLate tasks, 4 concurrent`. */
  load: string;
  /** Faults injected, e.g. `worker SIGKILLed 12 times`. */
  faults: string;
  sent: number;
  /** Distinct tasks that completed at least once. */
  completed: number;
  /** Extra runs beyond the first, summed over all tasks. */
  duplicates: number;
  lost: number;
  notes?: string;
}

/** Where `recordScenario` writes its JSON files (gitignored); `write-reliability.ts` reads them. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Prints one line with the figures and writes `test/chaos/results/<id>.json`. */
export function recordScenario(r: ScenarioResult): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(r.id)) throw new Error(`scenario id must be kebab-case: ${r.id}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const record = { ...r, recordedAt: new Date().toISOString() };
  writeFileSync(join(RESULTS_DIR, `${r.id}.json`), `${JSON.stringify(record, null, 2)}\n`);
  const notes = r.notes ? ` | ${r.notes}` : '';
  console.log(
    `[chaos] ${r.id}: ${r.scenario} | load: ${r.load} | faults: ${r.faults} | sent ${r.sent}, ` +
      `completed ${r.completed}, duplicates ${r.duplicates}, lost ${r.lost}${notes}`,
  );
}

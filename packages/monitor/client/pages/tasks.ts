import { bindTaskTable } from '../lib/task-table.ts';

/** Tasks: rows on the page follow their tasks live; the first unfiltered page takes new ones. */
export function init(page: string): void {
  if (page !== 'tasks') return;
  bindTaskTable();
}

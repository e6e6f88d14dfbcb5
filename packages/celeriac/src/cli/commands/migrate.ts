import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { say } from '../output.ts';
import { action, examples } from './shared.ts';

/** `celeriac migrate`: creates or upgrades the SQL result table ahead of time. */
export function registerMigrate(program: Command): void {
  const cmd = program
    .command('migrate')
    .description(
      'Create or upgrade the SQL result backend table (celeriac_task_result). Workers also do this on first connect; run it ahead when the worker user may not create tables.',
    )
    .action(action<Record<string, never>>('migrate', migrate));
  examples(cmd, [
    'celeriac --result-backend postgresql://celeriac@localhost/app migrate',
    'CELERIAC_RESULT_BACKEND=sqlite:///results.db celeriac migrate',
  ]);
}

async function migrate(ctx: CliContext): Promise<number> {
  const app = await ctx.app();
  const url = app.conf.backend;
  if (!url || !/^(postgres|postgresql|mysql|mariadb|sqlite):/i.test(url)) {
    throw new UsageError(
      'migrate needs an SQL result backend: pass --result-backend postgresql://…, mysql://… or sqlite:///path.db',
    );
  }
  const { SqlBackend } = await import('../../backends/sql/sql-backend.ts');
  const backend = new SqlBackend(`${url}${url.includes('?') ? '&' : '?'}celeriac_migrate=false`, {
    logger: app.logger,
    resultExpiresMs: app.conf.resultExpiresMs,
    oid: app.oid,
    getBrokerTransport: () => app.connection(),
  });
  await backend.connect();
  try {
    const applied = await backend.migrate();
    say(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
  } finally {
    await backend.close();
  }
  return 0;
}

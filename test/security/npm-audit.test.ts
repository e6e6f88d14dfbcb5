/**
 * `npm audit --omit=dev --audit-level=high`: no high or critical advisory in what users install.
 * Some registries and mirrors have no audit endpoint (this machine's answers 405); then the test
 * says so and is skipped, unless CELERIAC_REQUIRE_AUDIT=1 (set it in CI where the registry has one).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface AuditRun {
  code: number;
  stdout: string;
  stderr: string;
}

function audit(): Promise<AuditRun> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--audit-level=high', '--json'],
      { cwd: ROOT, timeout: 25_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm audit (production dependencies)', () => {
  it('has no high or critical advisories', async (ctx) => {
    const run = await audit();
    const unavailable =
      /audit endpoint returned an error|40[45] (Method )?Not (Allowed|Found)|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/i;
    if (
      run.code !== 0 &&
      unavailable.test(run.stdout + run.stderr) &&
      !/"vulnerabilities"/.test(run.stdout)
    ) {
      const why = (run.stdout + run.stderr).match(unavailable)?.[0] ?? 'no answer';
      if (process.env.CELERIAC_REQUIRE_AUDIT === '1') throw new Error(`npm audit could not run: ${why}`);
      console.warn(`npm audit skipped: the registry has no usable audit endpoint here (${why})`);
      ctx.skip();
    }
    const report = JSON.parse(run.stdout) as {
      metadata?: { vulnerabilities?: Record<string, number> };
      vulnerabilities?: Record<string, { severity: string; via: unknown[] }>;
    };
    const counts = report.metadata?.vulnerabilities ?? {};
    const serious = Object.entries(report.vulnerabilities ?? {})
      .filter(([, v]) => v.severity === 'high' || v.severity === 'critical')
      .map(([name, v]) => `${name} (${v.severity})`);
    expect(serious).toEqual([]);
    expect((counts.high ?? 0) + (counts.critical ?? 0)).toBe(0);
    expect(run.code).toBe(0);
  }, 30_000);
});

/**
 * One status line on stderr while a scenario runs: rewritten in place on a terminal, printed at
 * most once a second otherwise (CI logs), so stdout stays clean for the results table.
 */
export class Progress {
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;
  private width = 0;

  constructor(private scope: string) {}

  setScope(scope: string): void {
    this.scope = scope;
  }

  update(text: string): void {
    const now = Date.now();
    if (now - this.lastPrint < (this.tty ? 100 : 1000)) return;
    this.lastPrint = now;
    this.write(`[${this.scope}] ${text}`, false);
  }

  /** A line that stays (a finished step). */
  log(text: string): void {
    this.lastPrint = 0;
    this.write(`[${this.scope}] ${text}`, true);
  }

  private write(line: string, keep: boolean): void {
    if (this.tty) {
      const padded = line.padEnd(this.width);
      this.width = keep ? 0 : line.length;
      process.stderr.write(`\r${padded}${keep ? '\n' : ''}`);
    } else {
      process.stderr.write(`${line}\n`);
    }
  }
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

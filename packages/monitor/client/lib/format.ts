/** The same formats the server renders, so a live update looks like a reload. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '\u2014';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace('Z', '');
}

export function formatRuntime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '\u2014';
  return seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(3)} s`;
}

/** Long reprs are cut in tables; the detail page shows them whole. */
export function clip(text: string | null | undefined, max = 80): string {
  if (text === null || text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
}

/** Seconds as `850 ms`, `1.2 s`, `3 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${(seconds * 1000).toPrecision(3)} ms`;
  if (seconds < 120) return `${seconds.toPrecision(3)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

/** One memory sample of the worker, as memory-sampler.mjs writes it. */
export interface MemorySample {
  /** Seconds since the worker started. */
  t: number;
  /** Wall clock (epoch ms), to line samples up with the load. */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

const MB = 1024 * 1024;

/** Least-squares slope of `value` against time, in MB per minute. */
export function slopeMbPerMin<S extends { t: number }>(
  samples: readonly S[],
  value: (s: S) => number,
): number {
  const n = samples.length;
  if (n < 2) throw new Error(`a slope needs two samples or more, got ${n}`);
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    sx += s.t;
    sy += value(s);
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mx) * (value(s) - my);
    den += (s.t - mx) ** 2;
  }
  return den === 0 ? 0 : ((num / den) * 60) / MB;
}

export function mb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}

/**
 * The floor of `value` over the last `windowS` seconds at each sample: what survives garbage collection.
 * A leak raises the floor; the GC sawtooth above it does not.
 */
export function rollingFloor(
  samples: readonly MemorySample[],
  value: (s: MemorySample) => number,
  windowS: number,
): Array<{ t: number; value: number }> {
  return samples.map((s, i) => {
    let floor = value(s);
    for (let j = i - 1; j >= 0 && s.t - samples[j]!.t < windowS; j--)
      floor = Math.min(floor, value(samples[j]!));
    return { t: s.t, value: floor };
  });
}

/**
 * The shapes the server sends, declared once on the server: type-only imports, erased from the
 * browser bundle, so the client never drifts from what the API and the live stream produce.
 */
export type { LiveSummary, LiveTask, LiveWorker } from '../../src/server/sse.ts';
export type { RuntimeStats, StatsSnapshot, WorkerSeries } from '../../src/state/time-series.ts';

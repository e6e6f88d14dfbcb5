/** The shapes the server sends (see src/server/sse.ts and src/state/time-series.ts). */
export interface TimelineEntry {
  type: string;
  timestamp: number;
  hostname: string;
}

export interface LiveTask {
  uuid: string;
  state: string;
  name: string | null;
  args: string | null;
  kwargs: string | null;
  result: string | null;
  exception: string | null;
  runtime: number | null;
  worker: string | null;
  parent_id: string | null;
  root_id: string | null;
  sent: number | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
  revoked: number | null;
  rejected: number | null;
  lastEvent: TimelineEntry | null;
}

export interface LiveWorker {
  hostname: string;
  online: boolean;
  expires: number | null;
  active: number | null;
  processed: number | null;
  loadavg: number[] | null;
  sw_ident: string | null;
  sw_ver: string | null;
  lastHeartbeat: number | null;
}

export interface LiveSummary {
  now: number;
  workersOnline: number;
  workersOffline: number;
  states: Record<string, number>;
  events: number;
}

export interface ThroughputSeries {
  interval: number;
  start: number;
  succeeded: number[];
  failed: number[];
}

export interface RuntimeStats {
  name: string;
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface WorkerSeries {
  hostname: string;
  online: boolean;
  t: number[];
  load: Array<number | null>;
  active: Array<number | null>;
  processed: Array<number | null>;
}

export interface StatsSnapshot {
  now: number;
  perSecond: ThroughputSeries;
  perMinute: ThroughputSeries;
  runtimes: RuntimeStats[];
  states: Record<string, number>;
  workers: WorkerSeries[];
}

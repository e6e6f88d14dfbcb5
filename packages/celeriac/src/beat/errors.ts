/** A schedule that cannot be understood: a crontab field out of range, a bad interval, a bad solar event. */
export class ScheduleError extends Error {
  readonly code: string = 'INVALID_SCHEDULE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScheduleError';
  }
}

/** A time zone name the runtime's time-zone database does not know. */
export class UnknownTimeZoneError extends ScheduleError {
  override readonly code: string = 'UNKNOWN_TIMEZONE';
  constructor(
    readonly timeZone: string,
    options?: { cause?: unknown },
  ) {
    super(
      `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as 'Europe/Berlin' or 'UTC'`,
      options,
    );
    this.name = 'UnknownTimeZoneError';
  }
}

/** A beat entry that cannot be used (missing task name, bad options). */
export class BeatEntryError extends Error {
  readonly code: string = 'INVALID_BEAT_ENTRY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BeatEntryError';
  }
}

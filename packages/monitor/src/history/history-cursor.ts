/** A position in the list: the sort key and the uuid of the row it is next to. */
export interface HistoryCursor {
  key: number;
  uuid: string;
}

export class CursorError extends Error {
  readonly code = 'MONITOR_BAD_CURSOR';
}

/** Opaque to clients (base64url), so nobody builds one by hand and relies on its shape. */
export function encodeCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify([cursor.key, cursor.uuid])).toString('base64url');
}

export function decodeCursor(text: string): HistoryCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('not a cursor from this monitor (use the next/prev links it gave)');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'number' ||
    !Number.isFinite(value[0]) ||
    typeof value[1] !== 'string' ||
    value[1].length > 255
  )
    throw new CursorError('not a cursor from this monitor (use the next/prev links it gave)');
  return { key: value[0], uuid: value[1] };
}

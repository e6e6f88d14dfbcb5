/**
 * JSON as kombu speaks it. kombu 5.2 sends datetimes as ISO strings and nothing is revived;
 * kombu >= 5.3 wraps some values as `{"__type__": ..., "__value__": ...}` (kombu/utils/json.py),
 * which we revive defensively so a newer Python peer does not break us.
 */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}

function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

export function decodeJson(text: string): unknown {
  // A reviver makes JSON.parse several times slower; only kombu >= 5.3 payloads need it.
  return text.includes('"__type__"') ? JSON.parse(text, reviveKombuType) : JSON.parse(text);
}

function reviveKombuType(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tagged = value as { __type__?: unknown; __value__?: unknown };
  if (typeof tagged.__type__ !== 'string' || !('__value__' in tagged)) return value;
  const inner = tagged.__value__;
  switch (tagged.__type__) {
    case 'datetime':
    case 'date':
    case 'time':
    case 'decimal':
      return String(inner);
    case 'uuid':
      return typeof inner === 'object' && inner !== null && 'hex' in inner
        ? hexToUuid(String((inner as { hex: unknown }).hex))
        : String(inner);
    case 'bytes':
      return Buffer.from(String(inner), 'latin1');
    case 'base64':
      return Buffer.from(String(inner), 'base64');
    default:
      return value;
  }
}

function hexToUuid(hex: string): string {
  const h = hex.replace(/-/g, '');
  if (h.length !== 32) return hex;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

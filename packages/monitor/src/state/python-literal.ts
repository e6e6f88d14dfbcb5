/**
 * Reads back the `argsrepr` / `kwargsrepr` a worker sent (Python `repr` of plain values, as
 * celery/utils/saferepr.py and Celeriac's `saferepr` write them) so a task can be sent again.
 * Only literals that map exactly onto JSON are accepted: str, int, float, True/False/None,
 * list, tuple, dict. Anything else (objects, bytes, sets, a repr cut short with `...`) throws,
 * so a retry never sends arguments that differ from the original.
 */
export class PythonLiteralError extends Error {
  readonly code = 'MONITOR_NOT_A_LITERAL';
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '0': '\0',
};

export function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new PythonLiteralError(`${what} at position ${i}: ${JSON.stringify(text.slice(i, i + 20))}`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const sequence = (close: string, item: () => void) => {
    i++; // the opening bracket
    space();
    while (text[i] !== close) {
      item();
      space();
      if (text[i] === ',') {
        i++;
        space();
      } else if (text[i] !== close) fail(`expected , or ${close}`);
    }
    i++;
  };
  const value = (): unknown => {
    space();
    const ch = text[i];
    if (ch === "'" || ch === '"') return string(ch);
    if (ch === '[' || ch === '(') {
      const out: unknown[] = [];
      const tuple = ch === '(';
      sequence(tuple ? ')' : ']', () => out.push(value()));
      return out;
    }
    if (ch === '{') {
      const out: Record<string, unknown> = {};
      sequence('}', () => {
        const key = value();
        if (typeof key !== 'string' && typeof key !== 'number')
          fail('a dict key that is not a str or number');
        space();
        if (text[i] !== ':') fail('expected :');
        i++;
        out[String(key)] = value();
      });
      return out;
    }
    const word = /^(True|False|None)\b/.exec(text.slice(i));
    if (word) {
      i += word[1]!.length;
      return word[1] === 'True' ? true : word[1] === 'False' ? false : null;
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number && !/^[\w.]/.test(text.slice(i + number[0].length))) {
      i += number[0].length;
      const n = Number(number[0]);
      if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n)))
        fail('a number JSON cannot hold');
      return n;
    }
    return fail('not a plain literal');
  };
  const string = (quote: string): string => {
    let out = '';
    i++;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') {
        const next = text[i + 1] ?? '';
        if (next in ESCAPES) {
          out += ESCAPES[next];
          i += 2;
        } else if (next === 'x' || next === 'u' || next === 'U') {
          const size = next === 'x' ? 2 : next === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + size);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== size) fail('a bad escape');
          out += String.fromCodePoint(parseInt(hex, 16));
          i += 2 + size;
        } else fail('an unknown escape');
      } else out += text[i++];
    }
    if (text[i] !== quote) fail('an unterminated string');
    i++;
    return out;
  };
  const result = value();
  space();
  if (i !== text.length) fail('trailing text');
  return result;
}

import { describe, expect, it } from 'vitest';
import { parsePythonLiteral, PythonLiteralError } from '../src/state/python-literal.ts';

describe('parsePythonLiteral', () => {
  it('reads the reprs workers send for plain arguments', () => {
    expect(parsePythonLiteral('(1, 2)')).toEqual([1, 2]);
    expect(parsePythonLiteral('(60000,)')).toEqual([60000]);
    expect(parsePythonLiteral('()')).toEqual([]);
    expect(parsePythonLiteral("['a', \"b's\", -1.5e3, True, False, None]")).toEqual([
      'a',
      "b's",
      -1500,
      true,
      false,
      null,
    ]);
    expect(parsePythonLiteral("{'to': 'x@example.com', 'n': {'deep': [1, (2, 3)]}, 3: 'k'}")).toEqual({
      to: 'x@example.com',
      n: { deep: [1, [2, 3]] },
      '3': 'k',
    });
    expect(parsePythonLiteral("('line\\nbreak', 'caf\\xe9', '\\u263a', 'q\\'s')")).toEqual([
      'line\nbreak',
      'café',
      '☺',
      "q's",
    ]);
    expect(parsePythonLiteral('(\'<img src=x onerror="alert(1)">\',)')).toEqual([
      '<img src=x onerror="alert(1)">',
    ]);
  });

  it('refuses anything that is not exactly a plain literal', () => {
    for (const text of [
      '(<object object at 0x7f>,)', // an object repr
      "('aaaa...',", // cut short
      "(b'bytes',)",
      '({1, 2},)', // a set
      '(float("inf"),)',
      '(inf,)',
      '(12345678901234567890,)', // loses precision in JSON
      "('unterminated)",
      "('\\q',)",
      '(1, 2) trailing',
      '(1 2)',
      "{['list']: 1}",
      '',
    ]) {
      expect(() => parsePythonLiteral(text), text).toThrow(PythonLiteralError);
    }
  });
});

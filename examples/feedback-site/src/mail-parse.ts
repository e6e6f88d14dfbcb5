/** The parts of a message the outbox shows. */
export interface ParsedMail {
  headers: Array<[name: string, value: string]>;
  subject: string;
  from: string;
  to: string;
  text: string;
}

/**
 * Just enough of RFC 5322/2045/2047 to show the text emails nodemailer writes (single part,
 * 7bit, quoted-printable or base64; encoded-word headers). Not a general mail parser.
 */
export function parseMail(raw: string): ParsedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) last[1] += ' ' + line.trim();
    else {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  const get = (name: string) => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? '';
  const decoded = headers.map(([n, v]) => [n, decodeWords(v)] as [string, string]);
  const encoding = get('Content-Transfer-Encoding').toLowerCase();
  const charset = /charset="?([\w-]+)"?/i.exec(get('Content-Type'))?.[1] ?? 'utf-8';
  return {
    headers: decoded,
    subject: decodeWords(get('Subject')),
    from: decodeWords(get('From')),
    to: decodeWords(get('To')),
    text: decodeBody(body, encoding, charset).replace(/\r\n/g, '\n'),
  };
}

function decodeBody(body: string, encoding: string, charset: string): string {
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = quotedPrintable(body);
  else return body;
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function quotedPrintable(text: string): Buffer {
  const joined = text.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(joined[i]!, 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`). */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([\w-]+)\?([QqBb])\?([^?]*)\?=/g, (_m, charset: string, kind: string, data: string) => {
      const bytes =
        kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : quotedPrintable(data.replace(/_/g, ' '));
      try {
        return new TextDecoder(charset).decode(bytes);
      } catch {
        return bytes.toString('utf8');
      }
    });
}

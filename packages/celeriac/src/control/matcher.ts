/**
 * Which nodes a broadcast addresses when it names a `pattern` (kombu/matcher.py): `glob` is
 * Python's `fnmatch` (whole name, `*`, `?`, `[seq]`, `[!seq]`), `pcre` is `re.match` (anchored at
 * the start only). An unknown matcher throws, as kombu's `MatcherNotInstalled` does.
 */
export class MatcherNotInstalledError extends Error {
  readonly code = 'MATCHER_NOT_INSTALLED';
  constructor(matcher: string) {
    super(`no matcher installed for ${JSON.stringify(matcher)} (use "glob" or "pcre")`);
    this.name = 'MatcherNotInstalledError';
  }
}

export function matchNode(hostname: string, pattern: string, matcher: string | null | undefined): boolean {
  switch (matcher ?? 'glob') {
    case 'glob':
      return globToRegExp(pattern).test(hostname);
    case 'pcre':
      // Python's re and JavaScript's RegExp agree on the common subset people use for node names.
      return new RegExp(`^(?:${pattern})`).test(hostname);
    default:
      throw new MatcherNotInstalledError(String(matcher));
  }
}

/** fnmatch.translate: `*` any run, `?` one char, `[...]` a set (`[!...]` negated), the rest literal. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      else if (set.startsWith('^')) set = `\\${set}`;
      source += `[${set}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

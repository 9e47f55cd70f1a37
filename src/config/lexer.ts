// drbd.conf tokens. Words are what drbdadm's scanner accepts unquoted
// ([A-Za-z0-9/._-], so `a:b` is three tokens and `a+b` is an error); strings are
// double-quoted, `\X` stands for X, no newline inside; `#` starts a comment;
// `[ ... ]` (IPv6 addresses, meta-disk indexes) is one token holding its inner text.
import { ConfigError } from './errors.js';
import type { Loc } from './model.js';

export type TokenKind = 'word' | 'string' | 'bracket' | '{' | '}' | ';' | ':' | 'bad' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Word/string contents (unescaped), bracket inner text, or the character itself. */
  readonly text: string;
  readonly loc: Loc;
}

const WORD_CHAR = /[A-Za-z0-9/._-]/;

export function tokenize(src: string, file: string, canonical: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  const at = (l: number): Loc => ({ file, canonical, line: l });
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= src.length || src[j] === '\n') {
          throw ConfigError.at(at(line), 'Unterminated double quoted string (no newlines inside quotes)');
        }
        if (src[j] === '"') break;
        if (src[j] === '\\' && j + 1 < src.length && src[j + 1] !== '\n') {
          text += src[j + 1];
          j += 2;
        } else {
          text += src[j++];
        }
      }
      out.push({ kind: 'string', text, loc: at(line) });
      i = j + 1;
    } else if (c === '[') {
      const j = src.indexOf(']', i);
      const nl = src.indexOf('\n', i);
      if (j < 0 || (nl >= 0 && nl < j)) {
        out.push({ kind: 'bad', text: '[', loc: at(line) });
        i++;
      } else {
        out.push({ kind: 'bracket', text: src.slice(i + 1, j).trim(), loc: at(line) });
        i = j + 1;
      }
    } else if (c === '{' || c === '}' || c === ';' || c === ':') {
      out.push({ kind: c, text: c, loc: at(line) });
      i++;
    } else if (WORD_CHAR.test(c)) {
      let j = i;
      while (j < src.length && WORD_CHAR.test(src[j])) j++;
      out.push({ kind: 'word', text: src.slice(i, j), loc: at(line) });
      i = j;
    } else {
      // Take the whole code point so that a UTF-8 character reads back as itself.
      const cp = String.fromCodePoint(src.codePointAt(i) ?? 0);
      out.push({ kind: 'bad', text: cp, loc: at(line) });
      i += cp.length;
    }
  }
  out.push({ kind: 'eof', text: 'EOF', loc: at(line) });
  return out;
}

// docs/configuration.md carries the option reference generated from the option table.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { optionReference, REFERENCE_BEGIN, REFERENCE_END } from '../../../src/config/docs.js';
import { OPTIONS } from '../../../src/config/options.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/configuration.md');

it('docs/configuration.md option reference matches the option table', () => {
  const text = fs.readFileSync(DOC, 'utf8');
  const begin = text.indexOf(REFERENCE_BEGIN);
  const end = text.indexOf(REFERENCE_END);
  expect(begin).toBeGreaterThan(0);
  expect(text.slice(begin + REFERENCE_BEGIN.length, end)).toBe(`\n\n${optionReference()}`);
});

it('every option of the table is in the reference', () => {
  const ref = optionReference();
  for (const o of OPTIONS) expect(ref, o.name).toContain(`| \`${o.name}\` |`);
});

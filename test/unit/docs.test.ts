/** The README's config reference and error table are generated; they must match the code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference, errorTable, fillSection } from '../../src/config/docs.ts';
import { ERRORS } from '../../src/errors.ts';
import { LimitsSection } from '../../src/config/schema.ts';
import { limitsTable } from '../../src/config/limits-docs.ts';
import { ADAPTERS } from '../../src/registry.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README config reference and error table are current (run `npm run docs`)', () => {
  const regenerated = fillSection(fillSection(fillSection(readme, 'config', configReference(ADAPTERS)), 'errors', errorTable()), 'limits', limitsTable(ADAPTERS));
  assert.equal(readme, regenerated);
});

test('README documents every error code and every wings option', () => {
  for (const code of Object.keys(ERRORS)) assert.ok(readme.includes(`\`${code}\``), code);
  for (const option of ['jwtSecret', 'allowedOrigins', 'tokenEndpoint', 'tokenCheckIntervalMs', 'panelUrl', 'apiKey', 'writeQueueBytes']) {
    assert.ok(readme.includes(`| \`${option}\` |`), option);
  }
});

test('every key of `limits` has a row in the README\'s limits table (src/config/limits-docs.ts)', () => {
  const table = limitsTable(ADAPTERS);
  for (const key of Object.keys(LimitsSection.properties)) assert.ok(table.includes(`| \`limits.${key}\` |`), key);
});

/** The README's config reference and error table are generated; they must match the code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference, errorTable, fillSection } from '../../src/config/docs.ts';
import { ADVICE, troubleshootingTable } from '../../src/config/troubleshooting.ts';
import { ERRORS } from '../../src/errors.ts';
import { LimitsSection } from '../../src/config/schema.ts';
import { limitsTable } from '../../src/config/limits-docs.ts';
import { eventTable } from '../../src/config/event-docs.ts';
import { ALL_EVENT_TYPES, EVENT_SPECS } from '../../src/event-types.ts';
import { ADAPTERS } from '../../src/registry.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README config reference, error, limits, troubleshooting and event tables are current (run `npm run docs`)', () => {
  let regenerated = fillSection(fillSection(readme, 'config', configReference(ADAPTERS)), 'errors', errorTable());
  regenerated = fillSection(fillSection(regenerated, 'limits', limitsTable(ADAPTERS)), 'troubleshooting', troubleshootingTable());
  regenerated = fillSection(regenerated, 'events', eventTable());
  assert.equal(readme, regenerated);
});

test('the README\'s event table has a row for every canonical event type, with its retention (src/event-types.ts)', () => {
  const table = eventTable();
  assert.equal(table.split('\n').length, ALL_EVENT_TYPES.length + 2);
  for (const type of ALL_EVENT_TYPES) {
    const row = table.split('\n').find((line) => line.startsWith(`| \`${type}\` |`));
    assert.ok(row, type);
    assert.equal(row.includes('| last value |'), EVENT_SPECS[type].retention === 'last', type);
    assert.equal(row.includes('| history:'), EVENT_SPECS[type].retention === 'history', type);
  }
});

test('the troubleshooting table has a row with advice for every error code, close code and HTTP status as in src/errors.ts', () => {
  const table = troubleshootingTable();
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.ok(ADVICE[code as keyof typeof ERRORS].length > 20, `${code} has advice`);
    assert.ok(table.includes(`| ${spec.close ?? '—'} | ${spec.http} | \`${code}\` | ${spec.reason} |`), code);
  }
  assert.equal(table.split('\n').length, Object.keys(ERRORS).length + 2);
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

test('LICENSE holds the license package.json names', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string };
  const license = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
  assert.equal(pkg.license, 'MIT');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} protocol-bridge contributors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});

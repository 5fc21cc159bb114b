/** The manifest tests' YAML reader reads our subset exactly and refuses what it cannot read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYaml, parseYamlDocuments } from '../helpers/yaml-subset.ts';

test('block mappings, sequences at or inside their key, item mappings, flow sequences, scalars', () => {
  const text = [
    '# comment',
    'a: 1',
    'b: "x # not a comment"   # a comment',
    "c: 'it''s'",
    'd:',
    '- name: n',
    '  value: "v"',
    '- plain',
    'e:',
    '  f: [ "x", y, 3 ]',
    '  g: {}',
    '  h: 0440',
    '  i: nats:2.10-alpine',
    '  j: true',
    '  k:',
    '    - - 1',
    '      - 2',
  ].join('\n');
  assert.deepEqual(parseYaml(text), {
    a: 1,
    b: 'x # not a comment',
    c: "it's",
    d: [{ name: 'n', value: 'v' }, 'plain'],
    e: { f: ['x', 'y', 3], g: {}, h: 0o440, i: 'nats:2.10-alpine', j: true, k: [[1, 2]] },
  });
  assert.deepEqual(parseYamlDocuments('a: 1\n---\nb: 2\n---\n'), [{ a: 1 }, { b: 2 }]);
});

test('refuses what it cannot read, with the line', () => {
  for (const [text, re] of [
    ['a: |\n  x', /line 1: unsupported/],
    ['a: &x 1', /unsupported/],
    ['a: !!str 1', /unsupported/],
    ['a: {b: 1}', /flow mapping/],
    ['a: [[1]]', /nested flow/],
    ['a: x\n  y', /line 2: multi-line/],
    ['a: 1\na: 2', /line 2: duplicate key a/],
    ['a:\n\tb: 1', /tab/],
    ['a: 089', /not octal/],
  ] as const) assert.throws(() => parseYaml(text), re, text);
});

/** hasPermission (src/auth/permissions.ts): `*`, exact names and `prefix.*`. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasPermission } from '../../src/auth/permissions.ts';

describe('hasPermission', () => {
  test('* matches everything except admin permissions', () => {
    assert.equal(hasPermission(['*'], 'control.console'), true);
    assert.equal(hasPermission(['*'], 'websocket.connect'), true);
    assert.equal(hasPermission(['*'], 'admin.websocket.errors'), false);
    assert.equal(hasPermission(['*'], 'admin.websocket.install'), false);
    assert.equal(hasPermission(['*', 'admin.websocket.errors'], 'admin.websocket.errors'), true);
    assert.equal(hasPermission(['*', 'admin.websocket.errors'], 'admin.websocket.install'), false);
  });

  test('exact names match only themselves', () => {
    assert.equal(hasPermission(['control.console'], 'control.console'), true);
    assert.equal(hasPermission(['control.console'], 'control.start'), false);
    assert.equal(hasPermission(['control.console'], 'control.console.extra'), false);
    assert.equal(hasPermission([], 'control.console'), false);
  });

  test('prefix.* covers a family and nothing else', () => {
    assert.equal(hasPermission(['control.*'], 'control.start'), true);
    assert.equal(hasPermission(['control.*'], 'control.console'), true);
    assert.equal(hasPermission(['control.*'], 'controlx.start'), false);
    assert.equal(hasPermission(['control.*'], 'control'), false);
    assert.equal(hasPermission(['control.*'], 'websocket.connect'), false);
    assert.equal(hasPermission(['admin.*'], 'admin.websocket.errors'), true);
    assert.equal(hasPermission(['websocket.*', 'control.console'], 'control.console'), true);
  });
});

/**
 * The one error and disconnect table (src/errors.ts): every row is well formed, each close code
 * has one meaning, the range policy holds, and close reasons always fit a close frame.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BridgeError, ERRORS, closeFrame, closingRow, rowOfClose, type BridgeErrorCode, type CloseErrorCode } from '../../src/errors.ts';

const codes = Object.keys(ERRORS) as BridgeErrorCode[];
const closing = codes.filter((c) => ERRORS[c].close !== null) as CloseErrorCode[];

/** Close codes an endpoint may send (RFC 6455 §7.4; the check `ws` applies before sending). */
const sendable = (c: number) => (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1005 && c !== 1006) || (c >= 3000 && c <= 4999);

describe('error table', () => {
  test('every row has a stable name, an HTTP status and a short reason; close codes are sendable', () => {
    assert.ok(codes.length > 0);
    for (const code of codes) {
      const spec = ERRORS[code];
      assert.match(code, /^BRIDGE_ERR_[A-Z_]+$/);
      assert.ok(spec.http >= 100 && spec.http <= 599, `${code} http ${spec.http}`);
      assert.ok(spec.reason.length > 0, `${code} has a reason`);
      assert.ok(Buffer.byteLength(spec.reason) <= 123, `${code} reason is ${Buffer.byteLength(spec.reason)} bytes`);
      if (spec.close !== null) assert.ok(sendable(spec.close), `${code} close ${spec.close} may not be sent`);
    }
  });

  test('each close code has exactly one meaning', () => {
    const seen = new Map<number, string>();
    for (const code of closing) {
      const close = ERRORS[code].close;
      assert.equal(seen.get(close), undefined, `${close} is used by ${seen.get(close)} and ${code}`);
      seen.set(close, code);
      assert.equal(rowOfClose(close), code);
    }
  });

  test('range policy: standard, protocol-native, 41xx reconnect, 44xx terminal, nothing else', () => {
    for (const code of closing) {
      const spec: { close: number; reconnect: boolean; native?: string } = ERRORS[code];
      const { close, reconnect } = spec;
      if (close >= 1000 && close <= 1015) continue;
      if (close >= 4000 && close <= 4099) {
        assert.equal(typeof spec.native, 'string', `${code} (${close}) is in the protocol-native range and names its protocol`);
        continue;
      }
      assert.equal(spec.native, undefined, `${code} (${close}) is a relay code, not a native one`);
      if (close >= 4100 && close <= 4199) assert.equal(reconnect, true, `${code} (${close}) should reconnect`);
      else if (close >= 4400 && close <= 4499) assert.equal(reconnect, false, `${code} (${close}) is terminal`);
      else assert.fail(`${code} (${close}) is outside every range`);
    }
  });

  test('closeFrame gives the row\'s code and reason, with an optional detail', () => {
    assert.deepEqual(closeFrame('BRIDGE_ERR_SLOW_CONSUMER'), { code: 4108, reason: 'slow consumer' });
    assert.deepEqual(closeFrame('BRIDGE_ERR_FORBIDDEN', 'server x'), { code: 4403, reason: 'forbidden: server x' });
    assert.deepEqual(closeFrame('BRIDGE_ERR_SHUTDOWN', ''), { code: 1001, reason: 'relay shutting down' });
    assert.deepEqual(closeFrame('BRIDGE_ERR_ROOM_SESSION_ENDED', 'participant kicked'), { code: 4001, reason: 'room session ended: participant kicked' });
  });

  test('closeFrame truncates long details to at most 123 bytes', () => {
    for (const code of closing) {
      for (const detail of ['x'.repeat(500), 'é'.repeat(200), '中'.repeat(100), '😀'.repeat(80), `${'a'.repeat(110)}€€€€€€`]) {
        const f = closeFrame(code, detail);
        assert.equal(f.code, ERRORS[code].close);
        assert.ok(Buffer.byteLength(f.reason) <= 123, `${code}: ${Buffer.byteLength(f.reason)} bytes`);
        assert.ok(f.reason.startsWith(`${ERRORS[code].reason}: `), f.reason);
        assert.ok(Buffer.byteLength(f.reason) >= 119, 'truncation keeps as much as fits');
      }
    }
  });

  test('BridgeError carries its code, close code, message and cause', () => {
    const cause = new Error('root');
    const e = new BridgeError('BRIDGE_ERR_SLOW_CONSUMER', undefined, { cause });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'BridgeError');
    assert.equal(e.code, 'BRIDGE_ERR_SLOW_CONSUMER');
    assert.equal(e.closeCode, 4108);
    assert.equal(e.message, 'slow consumer');
    assert.equal(e.cause, cause);
    const custom = new BridgeError('BRIDGE_ERR_SUSPENDED', 'server 8a4b is suspended');
    assert.equal(custom.message, 'server 8a4b is suspended');
    assert.equal(custom.closeCode, 4409);
    assert.equal(new BridgeError('BRIDGE_ERR_BAD_REQUEST').closeCode, null);
    for (const code of codes) assert.equal(new BridgeError(code).closeCode, ERRORS[code].close);
  });
});

describe('closingRow', () => {
  test('a code that travelled as data is passed on only when it names a row that closes', () => {
    assert.equal(closingRow('BRIDGE_ERR_SUSPENDED', 'BRIDGE_ERR_UPSTREAM_REJECTED'), 'BRIDGE_ERR_SUSPENDED');
    assert.equal(closingRow('BRIDGE_ERR_CONFIG', 'BRIDGE_ERR_UPSTREAM_REJECTED'), 'BRIDGE_ERR_UPSTREAM_REJECTED', 'an HTTP-only row');
    for (const odd of [undefined, null, 4409, 'toString', '__proto__', 'BRIDGE_ERR_NOPE']) assert.equal(closingRow(odd, 'BRIDGE_ERR_NOT_FOUND'), 'BRIDGE_ERR_NOT_FOUND', String(odd));
  });
});

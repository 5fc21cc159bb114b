/** Expected start failures become one line with the fix (src/process/startup-errors.ts); others stay unexplained. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { explainStartupError } from '../../src/process/startup-errors.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { TlsError } from '../../src/tls.ts';

const config = validateConfig(
  {
    http: { host: '0.0.0.0', port: 80 },
    simulators: [{ name: 'wsim', protocol: 'wings', port: 9001 }],
  },
  ADAPTERS,
);
const ctx = { file: 'bridge.config.json', config, portFromFlag: false };
const listenError = (code: string, port: number, address = '0.0.0.0') => Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen', port, address });

test('port in use, port not allowed, foreign address, unresolvable host, unusable TLS pair', () => {
  assert.equal(explainStartupError(listenError('EADDRINUSE', 80), ctx), 'port 80 is already in use on 0.0.0.0; stop the other process or run with --port N (or http.port in bridge.config.json)');
  assert.equal(explainStartupError(listenError('EADDRINUSE', 80), { ...ctx, portFromFlag: true }), 'port 80 is already in use on 0.0.0.0; stop the other process or run with another --port N');
  assert.equal(explainStartupError(listenError('EACCES', 80), ctx), 'no permission to listen on port 80 on 0.0.0.0 (ports below 1024 need privileges); run with --port N (or http.port in bridge.config.json) with a port above 1023');
  assert.equal(explainStartupError(listenError('EADDRINUSE', 9001, '127.0.0.1'), ctx), 'port 9001 (simulator "wsim") is already in use on 127.0.0.1; stop the other process or set simulators[0].port in bridge.config.json (0 = any free port)');
  assert.equal(explainStartupError(listenError('EADDRNOTAVAIL', 80, '10.9.9.9'), ctx), '10.9.9.9 is not an address of this machine; set http.host in bridge.config.json to one of its addresses (0.0.0.0 for all)');
  const dns = Object.assign(new Error('getaddrinfo ENOTFOUND relay.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'relay.invalid' });
  assert.equal(explainStartupError(dns, ctx), 'cannot resolve the host name "relay.invalid"; set http.host in bridge.config.json to an address of this machine (0.0.0.0 for all)');
  assert.equal(explainStartupError(new TlsError('cert', 'cannot read /etc/bridge/tls.crt: ENOENT'), ctx), 'http.tls in bridge.config.json: cannot read /etc/bridge/tls.crt: ENOENT');
});

test('anything else is not explained (main.ts prints it whole)', () => {
  assert.equal(explainStartupError(new Error('boom'), ctx), null);
  assert.equal(explainStartupError(listenError('EMFILE', 80), ctx), null);
  assert.equal(explainStartupError(undefined, ctx), null);
});

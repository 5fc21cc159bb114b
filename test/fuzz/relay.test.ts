/**
 * Issue 9: property-based fuzzing of the running relay, a real process with all five listeners,
 * on the memory bus and on a real nats-server at once: the HTTP layer, every listener's sessions
 * and admission control. See fuzz-suite.ts for the properties and the FUZZ_* variables.
 */
import { describe } from 'node:test';
import { fuzzSuite } from './fuzz-suite.ts';

describe('fuzzing the running relay', { concurrency: true }, () => {
  fuzzSuite('memory');
  fuzzSuite('nats');
});

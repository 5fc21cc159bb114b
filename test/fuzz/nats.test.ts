/**
 * Issue 9: property-based fuzzing of the running relay (a real process) on a real nats-server:
 * the HTTP layer, every listener's sessions and admission control. See fuzz-suite.ts.
 */
import { fuzzSuite } from './fuzz-suite.ts';

fuzzSuite('nats');

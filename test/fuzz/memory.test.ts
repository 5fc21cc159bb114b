/**
 * Issue 9: property-based fuzzing of the running relay (a real process) on the memory bus: the
 * HTTP layer, every listener's sessions and admission control. See fuzz-suite.ts.
 */
import { fuzzSuite } from './fuzz-suite.ts';

fuzzSuite('memory');

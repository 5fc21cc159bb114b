/**
 * The built-in simulators with their demo chatter off (no console lines, stats, guild updates or
 * room messages on a timer), so an idle relay in front of them is idle and every event is one a
 * run or a test caused. Shared by the soak stack (bench/soak/stack.ts) and the test harnesses
 * (test/helpers/*-harness.ts): it lives in bench/ because tests already import bench/, and bench/
 * stays free of test/ imports.
 */
export type SimulatorProtocol = 'wings' | 'felix' | 'panel' | 'gateway';

const QUIET: Record<SimulatorProtocol, Record<string, number>> = {
  wings: { consoleIntervalMs: 0, statsIntervalMs: 0 },
  felix: { updateIntervalMs: 0 },
  panel: { consoleIntervalMs: 0, statsIntervalMs: 0 },
  gateway: { messageIntervalMs: 0 },
};

/** A `simulators[]` entry of the config: `name` speaking `protocol`, quiet, with `more` on top. */
export function quietSimulator(protocol: SimulatorProtocol, name: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, protocol, ...QUIET[protocol], ...more };
}

/**
 * Bounded records: what a simulator keeps of the frames its clients sent. Tests read the recent
 * ones as a plain array; the demo simulators run for as long as `npm start` lives, so an unbounded
 * list would grow with every frame a dashboard or link ever sent.
 */

/** How many records a simulator keeps (the newest). */
export const RECORD_LIMIT = 1000;

/** Appends `item` to `list`, dropping the oldest entries past `max`. */
export function keepLast<T>(list: T[], item: T, max = RECORD_LIMIT): void {
  list.push(item);
  // One over in the steady state: shift() is a cheap left-trim of the array's backing store.
  while (list.length > max) list.shift();
}

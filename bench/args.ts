/**
 * The command lines of `npm run bench` and `npm run soak`: each flag in turn, with readers for the
 * value that follows it.
 */
export interface FlagValue {
  /** The next argument, which must be there. */
  value(): string;
  /** The next argument as a positive integer. */
  int(): number;
}

/** Calls `on` for each flag of `argv`; a reader it calls consumes the argument after the flag. */
export function eachFlag(argv: readonly string[], on: (flag: string, next: FlagValue) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    on(flag, {
      value,
      int: () => {
        const n = Number(value());
        if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer`);
        return n;
      },
    });
  }
}

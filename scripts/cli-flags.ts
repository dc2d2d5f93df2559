// The flags of the long-running scripts (soak, chaos, fuzz), read as `--name value`.

/** The value after `--name` on the command line, or undefined. */
export function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

/** --minutes (default `defaultMinutes`) and --sample-sec (default 30) of a soak or chaos run, checked. */
export function runLength(defaultMinutes: number): { minutes: number; sampleEveryMs: number } {
  const minutes = Number(flag('--minutes') ?? defaultMinutes);
  const sampleEveryMs = Number(flag('--sample-sec') ?? 30) * 1000;
  if (!(minutes > 0 && minutes <= 24 * 60) || !(sampleEveryMs >= 1000)) throw new Error('--minutes must be in (0, 1440] and --sample-sec at least 1');
  return { minutes, sampleEveryMs };
}

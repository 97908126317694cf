import { ParseError } from "./errors.js";

const KIB = 1024;
const MIB = KIB * 1024;

// Units are 1024-based like Slurm, so "GB" means GiB.
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: KIB,
  kb: KIB,
  kib: KIB,
  m: MIB,
  mb: MIB,
  mib: MIB,
  g: MIB * KIB,
  gb: MIB * KIB,
  gib: MIB * KIB,
  t: MIB * MIB,
  tb: MIB * MIB,
  tib: MIB * MIB,
};

const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)([a-z]*)$/i;

/**
 * Parses a memory size such as `512`, `1.5G`, `2GB` or `4GiB` into bytes (rounded down).
 * A number without a unit is MiB.
 */
export function parseMemory(s: string): number {
  const text = s.trim();
  const [, amount, unit] = MEMORY_PATTERN.exec(text) ?? [];
  // Unlike the reference, KB/MB/GB/TB and KiB/MiB/GiB/TiB are accepted, not only single letters.
  const unitBytes = unit === undefined ? undefined : unit === "" ? MIB : UNIT_BYTES[unit.toLowerCase()];
  if (amount === undefined || unitBytes === undefined) {
    throw new ParseError(`invalid memory format: "${s}" (use a number with an optional unit K, M, G, T or B, e.g. 512M or 1.5G; no unit means MiB)`);
  }
  const bytes = Math.floor(Number(amount) * unitBytes);
  if (!Number.isSafeInteger(bytes)) {
    throw new ParseError(`invalid memory format: "${s}" is too large`);
  }
  return bytes;
}

/** Displays a byte count as whole MiB (`2048M`), or `0` when it is below 1 MiB. */
export function formatMemoryMiB(bytes: number): string {
  const mib = Number.isFinite(bytes) ? Math.floor(bytes / MIB) : 0;
  return mib > 0 ? `${mib}M` : "0";
}

// Which GRES device files (e.g. /dev/nvidia3) each job holds on each node.
//
// The scheduler counts GRES; this picks the concrete devices when a job starts: free ones only, so two jobs on one
// node never get the same device. What a job holds is saved with it (JobRecord.devicesByNode), so the set of held
// devices is always derived from the active jobs: freed when a job releases a node, rebuilt after a ctld restart.
import { gresName } from "./scheduler/gres";

/** GRES key (`gpu`, `gpu:a100`) -> device files. */
export type DeviceMap = Record<string, string[]>;

/**
 * Picks, for each GRES key of `alloc`, `count` device files of the node that are not in `held`, in the node's
 * order. Keys without device files (count-only GRES) get none. When fewer are free than asked (only possible if
 * the configuration changed under running jobs), the job gets the free ones and `short` lists what is missing.
 */
export function assignDevices(nodeDevices: DeviceMap, held: ReadonlySet<string>, alloc: Record<string, number>): { devices: DeviceMap; short: string[] } {
  const devices: DeviceMap = {};
  const short: string[] = [];
  for (const key of Object.keys(alloc).sort()) {
    const count = Math.round(alloc[key]!);
    const files = nodeDevices[key] ?? [];
    if (count <= 0 || files.length === 0) continue;
    const take = files.filter((f) => !held.has(f)).slice(0, count);
    if (take.length < Math.min(count, files.length)) short.push(`${key}: ${take.length} of ${count} free`);
    if (take.length > 0) devices[key] = take;
  }
  return { devices, short };
}

/** What a job started before devices were tracked holds: the first `count` files of each key (the old rule). */
export function legacyDevices(nodeDevices: DeviceMap, alloc: Record<string, number>): DeviceMap {
  const devices: DeviceMap = {};
  for (const [key, count] of Object.entries(alloc)) {
    const files = (nodeDevices[key] ?? []).slice(0, Math.max(0, Math.round(count)));
    if (files.length > 0) devices[key] = files;
  }
  return devices;
}

/**
 * For a step asking for fewer devices than its job holds on a node: `count` of the job's devices for each key it
 * asks for (a bare `gpu` matches `gpu:a100`), those no running sibling step holds first.
 */
export function pickStepDevices(jobDevices: DeviceMap, stepGres: Record<string, number>, heldBySiblings: ReadonlySet<string>): DeviceMap {
  const picked: DeviceMap = {};
  for (const [wanted, amount] of Object.entries(stepGres).sort()) {
    const count = Math.round(amount);
    if (count <= 0) continue;
    const candidates = Object.keys(jobDevices)
      .sort()
      .filter((k) => k === wanted || k.startsWith(`${wanted}:`))
      .flatMap((key) => jobDevices[key]!.map((file) => ({ key, file })));
    const free = candidates.filter((c) => !heldBySiblings.has(c.file));
    const taken = candidates.filter((c) => heldBySiblings.has(c.file));
    for (const { key, file } of [...free, ...taken].slice(0, count)) (picked[key] ??= []).push(file);
  }
  return picked;
}

/** How many devices of `wanted` (a bare name counts every type) an allocation holds. */
export function gresCount(gres: Record<string, number>, wanted: string): number {
  return Object.entries(gres).reduce((sum, [k, v]) => (k === wanted || k.startsWith(`${wanted}:`) ? sum + v : sum), 0);
}

/**
 * The device files and GPU ids a step gets on a node: the job's devices of every key the step asks for (a bare
 * `gpu` in the step matches the node's `gpu:a100`). GPU ids are the host indices used for CUDA_VISIBLE_DEVICES.
 */
export function stepDevices(jobDevices: DeviceMap, stepGres: Record<string, number>, nodeDevices: DeviceMap): { files: string[]; gpuIds: number[] } {
  const files: string[] = [];
  const gpuIds: number[] = [];
  const wantedNames = Object.keys(stepGres).filter((k) => stepGres[k]! > 0);
  for (const key of Object.keys(jobDevices).sort()) {
    if (!wantedNames.some((k) => k === key || key.startsWith(`${k}:`))) continue;
    const mine = jobDevices[key]!;
    files.push(...mine);
    if (gresName(key) === "gpu") gpuIds.push(...mine.map((f) => deviceIndex(f, nodeGpuOrder(nodeDevices).indexOf(f))));
  }
  return { files, gpuIds };
}

/** All GPU device files of a node, in configuration order. */
function nodeGpuOrder(nodeDevices: DeviceMap): string[] {
  return Object.keys(nodeDevices)
    .filter((k) => gresName(k) === "gpu")
    .flatMap((k) => nodeDevices[k]!);
}

/** The host index of a device: the number its file name ends with (/dev/nvidia3 -> 3), else its position. */
export function deviceIndex(file: string, position: number): number {
  const m = /(\d+)$/.exec(file);
  return m ? Number(m[1]) : Math.max(0, position);
}

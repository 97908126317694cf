// How to start this same executable again (craned spawns supervisors, `crane up` spawns daemons).
import { isSea } from "node:sea";

export function selfCommand(): string[] {
  if (process.env.CRANE_SELF) return JSON.parse(process.env.CRANE_SELF) as string[];
  if (isSea()) return [process.execPath];
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

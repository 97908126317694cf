// Whether output gets colour, decided once for every command (only `crane top` colours anything today).
//
//   1. --color / --no-color on the command line;
//   2. FORCE_COLOR: "0" or "false" turns colour off, any other value (also empty) on, even into a pipe;
//   3. NO_COLOR set to anything but "" turns it off (no-color.org);
//   4. otherwise: colour on a terminal whose TERM is not "dumb".
// FORCE_COLOR is above NO_COLOR as in Node itself: a user who sets both asked for colour last.
export interface ColorQuery {
  /** true for --color, false for --no-color, undefined for neither. */
  flag?: boolean | undefined;
  /** Where the output goes (its isTTY). */
  stream?: { isTTY?: boolean } | undefined;
  env?: NodeJS.ProcessEnv;
}

export function colorEnabled({ flag, stream, env = process.env }: ColorQuery): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env.NO_COLOR) return false;
  return Boolean(stream?.isTTY) && env.TERM !== "dumb";
}

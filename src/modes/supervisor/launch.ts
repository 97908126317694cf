// How a task of a non-container step starts, in two parts, as slurmstepd does it.
//
// The root part runs /bin/sh with a fixed environment (LAUNCH_ENV) and a fixed script: it sees only numbers and
// paths as positional parameters, never a string the user chose as code, and it calls its tools by absolute path.
// It joins the step's cgroup, opens the batch script (a file in root's private directory), then runs setpriv,
// which sets the supplementary groups from the name service (initgroups), then the gid, then the uid.
//
// The user part runs as the user. It reads the user's environment from fd 3 (a pipe from the supervisor: the
// environment never passes through root's), changes to the working directory and starts the command, or, for a
// batch script, opens the output files and starts the interpreter on the script.
export const LAUNCH_ENV: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

const SH = "/bin/sh";
const SETPRIV = "/usr/bin/setpriv";

// $1: number of cgroup.procs files, then the files; uid; gid; script file or ""; then the user part and its $0, args.
const ROOT_PART = `n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; n=$((n - 1)); shift; done
u=$1; g=$2; f=$3; shift 3
if [ -n "$f" ]; then exec 4< "$f" || exit 125; fi
if [ "$u" = 0 ]; then exec ${SH} -c "$@"; fi
exec ${SETPRIV} --reuid="$u" --regid="$g" --init-groups -- ${SH} -c "$@"`;

// $1: the working directory.
const ENTER = `eval "$(/bin/cat <&3)" || exit 125
exec 3<&-
if ! cd -- "$1" 2>/dev/null; then
  cd -- "$HOME" 2>/dev/null || cd /tmp || exit 125
  echo "crane: cannot change to $1: running in $PWD" >&2
fi
shift`;

// Then $@: the command.
const RUN_COMMAND = `${ENTER}
exec "$@"`;

// Then $1 output, $2 error file, $3 "1" to append, $4 the interpreter (words); the script is fd 4.
const RUN_BATCH = `${ENTER}
if [ "$3" = 1 ]; then exec >>"$1"; else exec >"$1"; fi
if [ "$2" = "$1" ]; then exec 2>&1; elif [ "$3" = 1 ]; then exec 2>>"$2"; else exec 2>"$2"; fi
exec </dev/null
set -f
exec $4 /dev/fd/4`;

export interface TaskLaunch {
  uid: number;
  gid: number;
  /** The cgroup.procs files the task joins before anything else. */
  cgroupProcs: string[];
  cwd: string;
  /** The task's whole environment; it reaches only the user part. */
  env: Record<string, string>;
  mode: { argv: string[] } | { batch: { script: string; interpreter: string; output: string; error: string; append: boolean } };
}

/** The argv (absolute path first) that starts a task; it must be spawned with LAUNCH_ENV and fd 3 a pipe. */
export function launchArgv(t: TaskLaunch): string[] {
  const root = [SH, "-c", ROOT_PART, "crane-launch", String(t.cgroupProcs.length), ...t.cgroupProcs, String(t.uid), String(t.gid)];
  if ("argv" in t.mode) return [...root, "", RUN_COMMAND, "crane-task", t.cwd, ...t.mode.argv];
  const b = t.mode.batch;
  return [...root, b.script, RUN_BATCH, "crane-batch", t.cwd, b.output, b.error, b.append ? "1" : "0", b.interpreter];
}

/** The environment as a script of exports for the user part; names a shell cannot export are left out. */
export function userEnvScript(env: Record<string, string>): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  return Object.entries(env)
    .filter(([k, v]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !v.includes("\0"))
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join("\n");
}

// How a task of a non-container step starts, in two parts, as slurmstepd does it, and what holds its exit status.
//
// The root part is the task's shim: /bin/sh with a fixed environment (LAUNCH_ENV) and a fixed script. It sees only
// numbers and paths as positional parameters, never a string the user chose as code, and it calls its tools by
// absolute path. It joins the step's cgroup, opens the batch script (a file in root's private directory), then
// starts the task in a session of its own through setpriv, which sets the supplementary groups from the name
// service (initgroups), then the gid, then the uid. It writes the task's pid, waits for it and writes its exit
// status to a file. The shim is all a task costs besides itself, and it outlives the supervisor: a supervisor that
// dies loses neither the task nor its exit status, and a new one finds both on disk.
//
// The user part runs as the user. It reads the user's environment from fd 3 (a pipe from the supervisor: the
// environment never passes through root's), changes to the working directory and starts the command, or, for a
// batch script, opens the output files and starts the interpreter on the script.
export const LAUNCH_ENV: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

const SH = "/bin/sh";
const SETPRIV = "/usr/bin/setpriv";
const SETSID = "/usr/bin/setsid";
const ENV = "/usr/bin/env";

/** The shim's own exit code when it could not start the task (cgroup, script); the task's status is then absent. */
export const SHIM_SETUP_FAILED = 125;

// $1: number of cgroup.procs files, then the files; uid; gid; script file or ""; task pid file; exit status file;
// then the user part and its $0, args. A background job of a shell without job control stays in the shell's process
// group, so setsid makes it a session and group of its own without forking: $! is the task, and its group. Such a
// job's stdin would be /dev/null: the shim's own stdin (a terminal's FIFO for crun --pty) is handed on through fd 6.
// Such a job also starts with SIGINT and SIGQUIT ignored, which the task would inherit: env puts them back.
const ROOT_PART = `exec 6<&0
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit ${SHIM_SETUP_FAILED}; n=$((n - 1)); shift; done
u=$1; g=$2; f=$3; p=$4; x=$5; shift 5
if [ -n "$f" ]; then exec 4< "$f" || exit ${SHIM_SETUP_FAILED}; fi
if [ "$u" = 0 ]; then ${SETSID} ${ENV} --default-signal=INT,QUIT ${SH} -c "$@" 0<&6 6<&- &
else ${SETSID} ${ENV} --default-signal=INT,QUIT ${SETPRIV} --reuid="$u" --regid="$g" --init-groups -- ${SH} -c "$@" 0<&6 6<&- &
fi
t=$!
exec 3<&- 4<&- 6<&-
echo $t > "$p"
wait $t
r=$?
echo $r > "$x"
exit $r`;

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
  /** Where the shim writes the task's pid, and its exit status once it ends. */
  taskPidFile: string;
  exitFile: string;
  /** The task's whole environment; it reaches only the user part. */
  env: Record<string, string>;
  mode: { argv: string[] } | { batch: { script: string; interpreter: string; output: string; error: string; append: boolean } };
}

/** The argv (absolute path first) of a task's shim; it must be spawned with LAUNCH_ENV and fd 3 a pipe. */
export function launchArgv(t: TaskLaunch): string[] {
  const root = [SH, "-c", ROOT_PART, "crane-shim", String(t.cgroupProcs.length), ...t.cgroupProcs, String(t.uid), String(t.gid)];
  const files = [t.taskPidFile, t.exitFile];
  if ("argv" in t.mode) return [...root, "", ...files, RUN_COMMAND, "crane-task", t.cwd, ...t.mode.argv];
  const b = t.mode.batch;
  return [...root, b.script, ...files, RUN_BATCH, "crane-batch", t.cwd, b.output, b.error, b.append ? "1" : "0", b.interpreter];
}

/** The environment as a script of exports for the user part; names a shell cannot export are left out. */
export function userEnvScript(env: Record<string, string>): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  return Object.entries(env)
    .filter(([k, v]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !v.includes("\0"))
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join("\n");
}

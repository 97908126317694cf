// Interactive streams (exec, attach). The CRI call only returns a single-use URL on the runtime's
// streaming server (containerd: `stream_server_address`, loopback by default); the caller then speaks the
// Kubernetes websocket protocol to it. containerd 1.6 accepts subprotocol "v4.channel.k8s.io" (offer v5 and v4):
// every frame starts with a channel byte, 0 stdin, 1 stdout, 2 stderr, 3 exit status (JSON), 4 resize
// ({"Width":w,"Height":h}). With tty, stderr must be off (the terminal merges it into stdout).
import type { CallOptions, CriClient } from "./client";
import { shortId } from "./sandbox";

export interface StreamSelection {
  stdin?: boolean;
  /** Default true. */
  stdout?: boolean;
  /** Default true unless tty. */
  stderr?: boolean;
  tty?: boolean;
}

function selection(s: StreamSelection): { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean } {
  const tty = s.tty ?? false;
  const out = { stdin: s.stdin ?? false, stdout: s.stdout ?? true, stderr: s.stderr ?? !tty, tty };
  if (tty && out.stderr) throw new Error("a tty stream cannot carry stderr separately: leave stderr off with tty");
  return out;
}

/** URL to run `cmd` in a running container with the selected streams. */
export async function getExecUrl(cri: CriClient, containerId: string, cmd: string[], streams: StreamSelection = {}, opts: CallOptions = {}): Promise<string> {
  const res = await cri.runtimeCall(cri.runtime.exec, { containerId, cmd, ...selection(streams) }, `prepare exec in container ${shortId(containerId)}`, opts);
  return res.url;
}

/** URL to attach to the main process of a container (tty must match the container's). */
export async function getAttachUrl(cri: CriClient, containerId: string, streams: StreamSelection = {}, opts: CallOptions = {}): Promise<string> {
  const res = await cri.runtimeCall(cri.runtime.attach, { containerId, ...selection(streams) }, `prepare attach to container ${shortId(containerId)}`, opts);
  return res.url;
}

/** Websocket subprotocols to offer, best first (containerd 1.6 refuses v5 alone). */
export const STREAM_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

/** First byte of every websocket frame. Close (v5 only) half-closes the channel named by its payload byte. */
export const StreamChannel = { Stdin: 0, Stdout: 1, Stderr: 2, Status: 3, Resize: 4, Close: 255 } as const;

/** One websocket message of the channel protocol. */
export function channelFrame(channel: number, data: Uint8Array | string = new Uint8Array()): Buffer {
  const payload = typeof data === "string" ? Buffer.from(data) : data;
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = channel;
  frame.set(payload, 1);
  return frame;
}

/** A resize message for channel 4. */
export function resizeFrame(columns: number, rows: number): Buffer {
  return channelFrame(StreamChannel.Resize, JSON.stringify({ Width: columns, Height: rows }));
}

/**
 * Exit code from a status frame (channel 3): 0 for {"status":"Success"}, the code of a NonZeroExitCode failure,
 * undefined when the frame says something else (e.g. the process could not start).
 */
export function exitCodeFromStatus(json: string): number | undefined {
  let status: { status?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
  try {
    status = JSON.parse(json) as typeof status;
  } catch {
    return undefined;
  }
  if (status.status === "Success") return 0;
  if (status.reason !== "NonZeroExitCode") return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : undefined;
}

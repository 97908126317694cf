// Container lifecycle events (CRI GetContainerEvents). containerd 1.7+ streams them; containerd 1.6 declares the
// method but answers UNIMPLEMENTED, so callers must also poll ContainerStatus (they must anyway: events can be
// missed while the stream reconnects).
import * as grpc from "@grpc/grpc-js";
import type { ContainerEventResponse } from "../generated/cri/api";
import { type CriClient, CriError } from "./client";

export interface ContainerEventHandlers {
  onEvent: (event: ContainerEventResponse) => void;
  /** The stream failed; `err.code === grpc.status.UNIMPLEMENTED` means the runtime has no event stream. */
  onError?: (err: CriError) => void;
  /** The runtime closed the stream. */
  onEnd?: () => void;
}

export interface ContainerEventSubscription {
  cancel(): void;
}

export function watchContainerEvents(cri: CriClient, handlers: ContainerEventHandlers): ContainerEventSubscription {
  const call = cri.runtime.getContainerEvents({});
  let cancelled = false;
  call.on("data", (event: ContainerEventResponse) => handlers.onEvent(event));
  call.on("error", (err: grpc.ServiceError) => {
    if (cancelled && err.code === grpc.status.CANCELLED) return;
    handlers.onError?.(cri.wrapError(err, "watch container events"));
  });
  call.on("end", () => {
    if (!cancelled) handlers.onEnd?.();
  });
  return {
    cancel() {
      cancelled = true;
      call.cancel();
    },
  };
}

/** Whether the runtime streams container events (false on containerd 1.6). Waits at most `probeMs`. */
export function supportsContainerEvents(cri: CriClient, probeMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub.cancel();
      resolve(value);
    };
    const sub = watchContainerEvents(cri, {
      onEvent: () => finish(true),
      onError: (err) => finish(err.code !== grpc.status.UNIMPLEMENTED && err.code !== grpc.status.UNAVAILABLE),
      onEnd: () => finish(false),
    });
    // No error within the probe time: the stream is open and simply idle.
    const timer = setTimeout(() => finish(true), probeMs);
  });
}

// Images on the node: status, pull (with registry credentials) and the pull-policy decision of a container step.
import type { Image, PodSandboxConfig } from "../generated/cri/api";
import { type CallOptions, type CriClient, isCriNotFound } from "./client";

export type PullPolicy = "Always" | "IfNotPresent" | "Never";
export const PULL_POLICIES: readonly PullPolicy[] = ["Always", "IfNotPresent", "Never"];

export interface RegistryAuth {
  username: string;
  password: string;
  /** Registry host the credentials are for, e.g. "registry.example.com:5000". */
  serverAddress?: string;
}

/** An image that pull policy Never forbids to fetch is missing. */
export class ImageNotPresentError extends Error {
  constructor(
    readonly ref: string,
    readonly node: string,
    readonly subject?: string,
  ) {
    const core = `image "${ref}" is not present on node ${node} and pull policy is Never`;
    super(subject ? `failed to prepare image for ${subject}: ${core}` : core);
    this.name = "ImageNotPresentError";
  }
}

/** Validates a pull policy from the edge (config, CLI); the message lists the valid values. */
export function parsePullPolicy(value: string): PullPolicy {
  const found = PULL_POLICIES.find((p) => p.toLowerCase() === value.toLowerCase());
  if (!found) throw new Error(`pull policy "${value}" is not valid (valid: ${PULL_POLICIES.join(", ")})`);
  return found;
}

/** The image as the node knows it, or undefined when it is not present. */
export async function imageStatus(cri: CriClient, ref: string, opts: CallOptions = {}): Promise<Image | undefined> {
  try {
    const res = await cri.imageCall(cri.images.imageStatus, { image: { image: ref, annotations: {} }, verbose: false }, `get status of image "${ref}"`, opts);
    return res.image;
  } catch (err) {
    if (isCriNotFound(err)) return undefined;
    throw err;
  }
}

export async function listImages(cri: CriClient, opts: CallOptions = {}): Promise<Image[]> {
  const res = await cri.imageCall(cri.images.listImages, { filter: undefined }, "list images", opts);
  return res.images;
}

export interface PullOptions extends CallOptions {
  auth?: RegistryAuth;
  /** The sandbox the image is for, when known (lets the runtime apply per-pod settings). */
  sandboxConfig?: PodSandboxConfig;
}

/** Pulls an image; returns the image reference (id) the runtime stored. Deadline: the client's pull timeout. */
export async function pullImage(cri: CriClient, ref: string, opts: PullOptions = {}): Promise<string> {
  const res = await cri.imageCall(
    cri.images.pullImage,
    {
      image: { image: ref, annotations: {} },
      auth: opts.auth
        ? {
            username: opts.auth.username,
            password: opts.auth.password,
            auth: "",
            serverAddress: opts.auth.serverAddress ?? "",
            identityToken: "",
            registryToken: "",
          }
        : undefined,
      sandboxConfig: opts.sandboxConfig,
    },
    `pull image "${ref}" on node ${cri.nodeName}`,
    { ...opts, timeoutMs: opts.timeoutMs ?? cri.pullTimeoutMs },
  );
  return res.imageRef;
}

export async function removeImage(cri: CriClient, ref: string, opts: CallOptions = {}): Promise<void> {
  await cri.imageCall(cri.images.removeImage, { image: { image: ref, annotations: {} } }, `remove image "${ref}"`, opts);
}

export interface EnsuredImage {
  /** The runtime's image id. */
  imageRef: string;
  pulled: boolean;
}

/**
 * Makes sure `ref` is on the node according to the pull policy:
 * Always pulls; IfNotPresent pulls only when missing; Never fails when missing, with
 * `image "<ref>" is not present on node <node> and pull policy is Never`.
 */
export async function ensureImage(cri: CriClient, ref: string, policy: PullPolicy, opts: PullOptions = {}): Promise<EnsuredImage> {
  if (policy !== "Always") {
    const present = await imageStatus(cri, ref, opts);
    if (present) return { imageRef: present.id, pulled: false };
    if (policy === "Never") {
      throw new ImageNotPresentError(ref, cri.nodeName, opts.subject);
    }
  }
  return { imageRef: await pullImage(cri, ref, opts), pulled: true };
}

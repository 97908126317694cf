// Builds the busybox OCI image-layout tar (docker.io/library/busybox:latest and the pause image
// crane.local/pause:1) and optionally imports it into a containerd's k8s.io namespace.
//
//   npx tsx scripts/build-image.ts [--out FILE] [--busybox /bin/busybox] [--import SOCKET]
//
// Prints one JSON line: {"out": ..., "images": {name: manifestDigest}, "imported": bool}.
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeBusyboxImageTar } from "../src/core/cri/oci-image";

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: path.join(os.tmpdir(), "crane-busybox-image.tar") },
      busybox: { type: "string", default: "/bin/busybox" },
      import: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("usage: tsx scripts/build-image.ts [--out FILE] [--busybox PATH] [--import CONTAINERD_SOCKET]");
    return;
  }
  const out = path.resolve(values.out);
  const built = writeBusyboxImageTar(out, { busyboxPath: values.busybox });
  if (values.import) {
    execFileSync("ctr", ["-a", values.import, "-n", "k8s.io", "images", "import", "--all-platforms", out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  console.log(JSON.stringify({ out, images: built.manifests, imported: Boolean(values.import) }));
}

try {
  main();
} catch (err) {
  console.error(`build-image: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

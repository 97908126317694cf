// Ink lays out with yoga, a WebAssembly module. Loaded as ESM (tests, tsx) it is ready on import; in the single
// executable (a CommonJS bundle, which cannot wait at top level) scripts/build-binary.ts swaps in a shim that loads it
// asynchronously and leaves the pending load here. Await this before Ink's render().
export async function yogaReady(): Promise<void> {
  await (globalThis as { __craneYogaReady?: Promise<unknown> }).__craneYogaReady;
}

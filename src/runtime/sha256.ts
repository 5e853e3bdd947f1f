/**
 * SHA-256 of a string, hex. On Bun through its native hasher: loading `node:crypto` there costs
 * more CPU than a whole `svcs -a` otherwise does (docs/architecture.md, "Start-up"); elsewhere
 * `node:crypto`, loaded on first use.
 */
interface BunHasher {
  update(data: string): BunHasher;
  digest(encoding: "hex"): string;
}
type BunGlobal = { CryptoHasher: new (algorithm: string) => BunHasher };

export function sha256Hex(text: string): string {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (bun) return new bun.CryptoHasher("sha256").update(text).digest("hex");
  return process.getBuiltinModule("node:crypto").createHash("sha256").update(text).digest("hex");
}
